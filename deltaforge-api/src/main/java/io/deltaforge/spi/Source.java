package io.deltaforge.spi;

import io.deltaforge.api.Lsn;
import io.deltaforge.api.SnapshotRequest;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Captures changes from a database and hands them over in log order.
 *
 * <p>Threading: {@link #start()}, {@link #poll(Duration)} and {@link #close()} are called from the
 * engine's reader thread only; {@link #acknowledge(Lsn)} may be called from any thread.
 *
 * <p>A source never advances its server-side position on its own: only {@link #acknowledge(Lsn)},
 * called by the engine once everything up to that position is delivered, may do so. After a restart it
 * resumes from the last acknowledged position, so records after it are handed over again, with the same
 * event ids.
 */
public interface Source extends AutoCloseable {
    /** The configured source id; it is part of every event id, so it must stay the same across restarts. */
    String id();

    /** Connects and prepares the stream (slot, publication); throws a DeltaforgeException naming the fix. */
    void start();

    /**
     * Waits up to {@code timeout} for the next record.
     *
     * @return the next record, or null when none arrived in time
     * @throws io.deltaforge.api.RetryableException when the connection broke; the engine calls
     *         {@link #start()} again after a backoff
     */
    @Nullable SourceRecord poll(Duration timeout) throws InterruptedException;

    /**
     * Everything up to and including {@code position} (a {@link TransactionCommit#endLsn()} or a
     * {@link Heartbeat#lsn()}) is delivered; the source may tell its server. Thread-safe; positions only
     * grow.
     */
    void acknowledge(Lsn position);

    /**
     * The newest log position the source knows the server to have (for example the WAL end reported in
     * keep-alives), for the {@code deltaforge.lag.bytes} metric; null when unknown (the default).
     * Thread-safe.
     */
    default @Nullable Lsn newestPosition() {
        return null;
    }

    /**
     * Why the running source should not count as ready although it works (for example its replication lag
     * is over a configured limit), in one sentence naming the limit; null when it is fine (the default).
     * Shown as {@link io.deltaforge.api.PipelineStatus#degraded()}, which makes the runner's {@code /ready}
     * answer 503. To stop the pipeline instead, throw from {@link #poll(Duration)}. Thread-safe and cheap:
     * called whenever a status is taken.
     */
    default @Nullable String degraded() {
        return null;
    }

    /**
     * Starts an incremental snapshot of the requested tables while streaming continues. Thread-safe; returns
     * at once (the rows follow in the stream). The default refuses: not every source can re-read its tables.
     *
     * @throws io.deltaforge.api.ConfigException when a table is not captured or the condition is unusable
     * @throws UnsupportedOperationException when the source cannot take snapshots
     */
    default void requestSnapshot(SnapshotRequest request) {
        throw new UnsupportedOperationException("source '" + id() + "' (" + getClass().getName()
                + ") cannot take incremental snapshots");
    }

    /**
     * Called once by the engine before {@link #start()} with the pipeline's registry, so that the source can
     * publish its own meters (for example snapshot progress). The default publishes none.
     */
    default void bindMetrics(MeterRegistry registry, Tags tags) {
    }

    /**
     * Connects, checks what {@link #start()} would check (server settings, privileges, the objects it reads)
     * without creating or changing anything, and disconnects; for {@code deltaforge validate
     * --check-connections}. Needs no {@link #start()} and leaves the source unstarted.
     *
     * @return notes worth showing (warnings; what the first start would create), empty when there are none
     * @throws io.deltaforge.api.DeltaforgeException naming the setting and the fix, as {@link #start()} would
     *         ({@link io.deltaforge.api.RetryableException} when the server did not answer)
     * @throws UnsupportedOperationException when the source offers no such check (the default)
     */
    default List<String> check() {
        throw new UnsupportedOperationException("source '" + id() + "' (" + getClass().getName()
                + ") offers no connection check");
    }

    /** Disconnects. Idempotent. */
    @Override
    void close();
}
