package io.deltaforge.api;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Where a change sits in the source's log.
 *
 * @param commitLsn  LSN of the commit record of the change's transaction; the same for all its events
 * @param lsn        LSN of the change itself; several changes of one statement may share it
 * @param indexInTx  0-based position of the event within its transaction; with {@code commitLsn} it
 *                   identifies the change uniquely and stably across replays
 * @param xid        the transaction id
 * @param commitTime when the transaction committed, as the server reported it
 * @param previousCommitEnd the end LSN of the commit record of the transaction the source read before this
 *                   one in the same session (what Debezium calls the last commit LSN); null for the first
 *                   transaction after a (re)start and where the source does not know it
 */
public record SourcePosition(Lsn commitLsn, Lsn lsn, int indexInTx, long xid, Instant commitTime,
                             @Nullable Lsn previousCommitEnd) {
    public SourcePosition {
        Objects.requireNonNull(commitLsn, "commitLsn");
        Objects.requireNonNull(lsn, "lsn");
        Objects.requireNonNull(commitTime, "commitTime");
        if (indexInTx < 0) {
            throw new IllegalArgumentException("indexInTx < 0");
        }
    }

    /** A position without the previous commit. */
    public SourcePosition(Lsn commitLsn, Lsn lsn, int indexInTx, long xid, Instant commitTime) {
        this(commitLsn, lsn, indexInTx, xid, commitTime, null);
    }
}
