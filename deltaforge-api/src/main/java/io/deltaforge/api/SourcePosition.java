package io.deltaforge.api;

import java.time.Instant;
import java.util.Objects;

/**
 * Where a change sits in the source's log.
 *
 * @param commitLsn  LSN of the commit record of the change's transaction; the same for all its events
 * @param lsn        LSN of the change itself; several changes of one statement may share it
 * @param indexInTx  0-based position of the event within its transaction; with {@code commitLsn} it
 *                   identifies the change uniquely and stably across replays
 * @param xid        the transaction id
 * @param commitTime when the transaction committed, as the server reported it
 */
public record SourcePosition(Lsn commitLsn, Lsn lsn, int indexInTx, long xid, Instant commitTime) {
    public SourcePosition {
        Objects.requireNonNull(commitLsn, "commitLsn");
        Objects.requireNonNull(lsn, "lsn");
        Objects.requireNonNull(commitTime, "commitTime");
        if (indexInTx < 0) {
            throw new IllegalArgumentException("indexInTx < 0");
        }
    }
}
