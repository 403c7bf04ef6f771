package io.deltaforge.api.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.TransactionCommit;
import io.deltaforge.spi.TransactionMarker;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Makes the BEGIN and END markers of each transaction for the {@link Batcher}, driven by the same thread in log
 * order. Each envelope is asked for a BEGIN message when a transaction's first record arrives (at its commit when
 * none did) and, if it gave one, for an END message at the commit, with the events of the transaction its sink
 * publishes counted per table. xid 0 is no source transaction (a non-transactional message, an initial
 * snapshot): it gets no markers.
 */
final class TransactionMarkerMaker {
    /**
     * A marker as each sink sees it: {@code markers[s]} and {@code messages[s]} null where the sink's envelope
     * writes none; {@code indexInTx} places it in a part of its transaction.
     */
    record Made(@Nullable TransactionMarker[] markers, @Nullable Message[] messages, int indexInTx) {
    }

    private final Envelope[] envelopes;
    /** The source's id, for the markers of a transaction no event of which reached the batcher. */
    private final String sourceId;
    /** Commit LSN of the transaction whose BEGIN was made last; null between transactions. */
    private @Nullable Lsn openTransaction;
    private String openSourceId = "";
    private int openLastIndex;
    /** Per sink: the open transaction's published events per table, null when the sink writes no markers. */
    private final @Nullable Map<TableId, Long>[] counts;

    @SuppressWarnings("unchecked")
    TransactionMarkerMaker(Envelope[] envelopes, String sourceId) {
        this.envelopes = envelopes;
        this.sourceId = sourceId;
        this.counts = new Map[envelopes.length];
    }

    /** The BEGIN marker when the event (before any filter) opens a transaction, else null. */
    @Nullable Made beginIfNew(ChangeEvent event) {
        openLastIndex = event.position().indexInTx();
        Lsn commitLsn = event.position().commitLsn();
        if (event.position().xid() == 0 || commitLsn.equals(openTransaction)) {
            return null;
        }
        return begin(event.sourceId(), event.position().xid(), commitLsn, event.position().lsn(),
                event.position().commitTime(), event.origin());
    }

    /** Counts an event for the END of each sink that publishes it ({@code perSink[s]} null where it does not). */
    void counted(ChangeEvent event, @Nullable ChangeEvent[] perSink) {
        if (event.op() == Op.READ) {
            return;
        }
        for (int s = 0; s < perSink.length; s++) {
            Map<TableId, Long> tableCounts = counts[s];
            if (tableCounts != null && perSink[s] != null) {
                tableCounts.merge(perSink[s].table(), 1L, Long::sum);
            }
        }
    }

    /** The END marker, after the BEGIN when no event of the transaction came; empty for xid 0. */
    List<Made> end(TransactionCommit commit) {
        if (commit.xid() == 0) {
            openTransaction = null;
            return List.of();
        }
        List<Made> made = new ArrayList<>(2);
        if (!commit.commitLsn().equals(openTransaction)) {
            made.add(begin(sourceId, commit.xid(), commit.commitLsn(), commit.commitLsn(), commit.commitTime(), null));
            openLastIndex = 0;
        }
        Message[] messages = new Message[envelopes.length];
        TransactionMarker[] markers = new TransactionMarker[envelopes.length];
        for (int s = 0; s < envelopes.length; s++) {
            Map<TableId, Long> tableCounts = counts[s];
            if (tableCounts == null) {
                continue;
            }
            long total = tableCounts.values().stream().mapToLong(Long::longValue).sum();
            TransactionMarker marker = new TransactionMarker(TransactionMarker.Kind.END, openSourceId, commit.xid(),
                    commit.commitLsn(), commit.endLsn(), commit.commitTime(), null, total, tableCounts);
            messages[s] = message(envelopes[s], marker);
            markers[s] = messages[s] == null ? null : marker;
            counts[s] = null;
        }
        openTransaction = null;
        made.add(new Made(markers, messages, openLastIndex));
        return made;
    }

    /** The source replays the open transaction from its start, BEGIN included. */
    void sourceRestarted() {
        openTransaction = null;
    }

    private Made begin(String source, long xid, Lsn commitLsn, Lsn lsn, Instant commitTime,
                       ChangeEvent.@Nullable Origin origin) {
        openTransaction = commitLsn;
        openSourceId = source;
        TransactionMarker marker = new TransactionMarker(TransactionMarker.Kind.BEGIN, source, xid, commitLsn, lsn,
                commitTime, origin, 0, Map.of());
        Message[] messages = new Message[envelopes.length];
        TransactionMarker[] markers = new TransactionMarker[envelopes.length];
        for (int s = 0; s < envelopes.length; s++) {
            messages[s] = message(envelopes[s], marker);
            markers[s] = messages[s] == null ? null : marker;
            counts[s] = messages[s] == null ? null : new LinkedHashMap<>();
        }
        return new Made(markers, messages, 0);
    }

    private static @Nullable Message message(Envelope envelope, TransactionMarker marker) {
        try {
            return envelope.transactionMarker(marker);
        } catch (RuntimeException ex) {
            throw new DeltaforgeException("envelope " + envelope.getClass().getName() + " cannot encode the "
                    + marker.kind() + " marker of the transaction committed at LSN " + marker.commitLsn() + " (xid "
                    + marker.xid() + "): " + ex.getMessage(), ex);
        }
    }
}
