package io.deltaforge.postgres.internal;

import io.deltaforge.postgres.LagAction;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * How a source watches its slot (see {@link SlotMonitor}).
 *
 * @param interval      how often the slot is read, on its own connection
 * @param maxLagBytes   lag in bytes over which the source is degraded; 0 for no limit
 * @param maxLagTime    lag in time over which the source is degraded; null for no limit
 * @param onLagExceeded whether an exceeded limit only degrades the source or also stops it
 * @param stallTimeout  how long the acknowledged position may stand still while the server's WAL moves on
 *                      before the session is reconnected (and, if that does not help, the source fails);
 *                      null to never
 */
public record MonitorSettings(Duration interval, long maxLagBytes, @Nullable Duration maxLagTime,
                              LagAction onLagExceeded, @Nullable Duration stallTimeout) {
    /** Every 10 s, no lag limits, stall timeout 5 minutes. */
    public static final MonitorSettings DEFAULT = new MonitorSettings(Duration.ofSeconds(10), 0, null, LagAction.WARN,
            Duration.ofMinutes(5));

    public MonitorSettings {
        Objects.requireNonNull(interval, "interval");
        Objects.requireNonNull(onLagExceeded, "onLagExceeded");
        if (maxLagBytes < 0) {
            throw new IllegalArgumentException("maxLagBytes < 0");
        }
    }
}
