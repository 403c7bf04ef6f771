package io.deltaforge.envelopes.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.TableId;
import java.util.HashMap;
import java.util.Map;

/**
 * Debezium's transaction block of a data event: an id ({@code <txId>:<the event's LSN>}, as Debezium forms
 * it from its offset), the event's 1-based place among the transaction's events and among those of its table.
 *
 * <p>The places are counted as the events come, so it must see a transaction's events in log order, as the
 * engine encodes them; the same event again (for another sink) gets the same answer, and a transaction that
 * starts over (a replay after a source restart) is counted afresh. It keeps only the current transaction's
 * per-table counts. Thread-safe.
 */
public final class TransactionOrder {
    /** One event's block. */
    public record Block(String id, long totalOrder, long dataCollectionOrder) {
    }

    private String sourceId = "";
    private Lsn commitLsn = Lsn.ZERO;
    private int lastIndex = -1;
    private long total;
    private final Map<TableId, Long> perTable = new HashMap<>();
    private Block last = new Block("", 0, 0);

    public synchronized Block of(ChangeEvent event) {
        int index = event.position().indexInTx();
        boolean sameTransaction = event.sourceId().equals(sourceId) && event.position().commitLsn().equals(commitLsn);
        if (sameTransaction && index == lastIndex) {
            return last;
        }
        if (!sameTransaction || index < lastIndex) {
            sourceId = event.sourceId();
            commitLsn = event.position().commitLsn();
            total = 0;
            perTable.clear();
        }
        lastIndex = index;
        long inTable = perTable.merge(event.table(), 1L, Long::sum);
        last = new Block(event.position().xid() + ":" + JsonOutput.decimal(event.position().lsn()), ++total,
                inTable);
        return last;
    }
}
