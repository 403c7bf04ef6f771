package io.deltaforge.spi;

import io.deltaforge.api.Lsn;
import java.util.Objects;

/**
 * Sent by a source while no transaction is open: everything before {@code lsn} has been handed over, so
 * once all earlier records are delivered the engine may acknowledge {@code lsn}. This keeps an idle or
 * fully filtered source from pinning the server's log.
 *
 * <p>A source must emit it only between transactions, never while one is partly handed over.
 */
public record Heartbeat(Lsn lsn) implements SourceRecord {
    public Heartbeat {
        Objects.requireNonNull(lsn, "lsn");
    }
}
