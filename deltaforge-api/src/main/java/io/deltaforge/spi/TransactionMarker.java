package io.deltaforge.spi;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.TableId;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The start or the end of a source transaction, as the engine offers it to an {@link Envelope} that writes
 * transaction markers ({@link Envelope#transactionMarker}; Debezium's BEGIN and END events). The engine makes a
 * BEGIN when the transaction's first record reaches it (at its commit when no event did) and an END at its
 * commit, for every transaction of a source except those with xid 0 (no source transaction: a
 * non-transactional logical message, an initial snapshot). Both travel in the {@link Batch} with the
 * transaction's events ({@link Batch#markers()}), BEGIN before them and END after them.
 *
 * <p>{@link #id()} is a pure function of the source id, the commit LSN and the kind, so a replay gives the
 * same ids and de-duplicates as events do.
 *
 * @param kind           BEGIN or END
 * @param sourceId       the source's id
 * @param xid            the transaction id
 * @param commitLsn      the LSN of the commit record, as in the events' positions
 * @param lsn            BEGIN: the LSN of the transaction's first change the source sent (its commit LSN when none
 *                       reached the engine); END: the LSN just past the commit record
 * @param commitTime     the commit time
 * @param origin         the replication origin of the transaction's first change, null when none or unknown
 * @param eventCount     END: the events of the transaction the sink publishes (after the pipeline's and the
 *                       sink's filters and {@link Envelope#publishes}), snapshot reads not counted; BEGIN: 0
 * @param eventsPerTable END: those events per table, in the order of each table's first event; BEGIN: empty
 */
@Incubating
public record TransactionMarker(Kind kind, String sourceId, long xid, Lsn commitLsn, Lsn lsn, Instant commitTime,
                                ChangeEvent.@Nullable Origin origin, long eventCount,
                                Map<TableId, Long> eventsPerTable) {
    /** Which end of the transaction. */
    public enum Kind { BEGIN, END }

    public TransactionMarker {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(sourceId, "sourceId");
        Objects.requireNonNull(commitLsn, "commitLsn");
        Objects.requireNonNull(lsn, "lsn");
        Objects.requireNonNull(commitTime, "commitTime");
        eventsPerTable = Collections.unmodifiableMap(new LinkedHashMap<>(eventsPerTable));
    }

    /** The marker's id: the same transaction and kind always give the same one. */
    public String id() {
        return EventIds.forTransactionMarker(sourceId, commitLsn, kind == Kind.BEGIN);
    }
}
