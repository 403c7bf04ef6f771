package io.deltaforge.spi;

import io.deltaforge.api.Lsn;
import java.time.Instant;
import java.util.Objects;

/**
 * Closes a transaction: every event with this {@code commitLsn} has been handed over. Once all of them
 * are delivered, the engine acknowledges {@code endLsn} to the source.
 *
 * @param xid        transaction id
 * @param commitLsn  LSN of the commit record
 * @param endLsn     LSN just past the commit record: the position to confirm to the server
 * @param commitTime commit timestamp
 * @param eventCount how many events the transaction produced (0 when all were filtered out)
 */
public record TransactionCommit(long xid, Lsn commitLsn, Lsn endLsn, Instant commitTime, int eventCount)
        implements SourceRecord {
    public TransactionCommit {
        Objects.requireNonNull(commitLsn, "commitLsn");
        Objects.requireNonNull(endLsn, "endLsn");
        Objects.requireNonNull(commitTime, "commitTime");
    }
}
