package io.deltaforge.api.internal;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.EventFilter;
import io.deltaforge.api.Lsn;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Heartbeat;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import io.deltaforge.spi.TransactionMarker;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Groups records into batches. Pure logic, driven by one thread: {@link #add} for each record in log
 * order, {@link #flushIdle} when the source is quiet or the oldest event waited {@code maxWait}, and
 * {@link #flushCommitted} when stopping.
 *
 * <p>Each event passes the pipeline filter, then each sink's filter, and is encoded once per distinct
 * (envelope, filtered event) pair as it arrives, so batch sizes are measured in real bytes. A batch
 * carries a checkpoint only when it ends at a transaction boundary; with {@code respectSourceTx} it ends
 * only there, unless one transaction alone outgrows the limits.
 *
 * <p>When the source reconnects ({@link #sourceRestarted}) it replays from its acknowledged position, so
 * records the batcher already has come again: the unfinished transaction at the tail is dropped (it is
 * replayed from its start), and replayed records of transactions already taken are skipped, since their
 * batches are already with the sinks, which retry them until delivered.
 *
 * <p>Transaction markers ({@link TransactionMarkerMaker}) travel as entries of their own among the events, so
 * they are batched, split and dropped with their transaction.
 */
final class Batcher {
    /** Receives each closed batch: for sink {@code s}, {@code events.get(s)} and their encodings. */
    interface Emitter {
        void emit(int eventCount, List<List<ChangeEvent>> events, List<List<Message>> messages,
                  List<List<Batch.Marker>> markers, @Nullable Lsn checkpoint, boolean transactionContinues)
                throws InterruptedException;
    }

    /**
     * One source event as each sink sees it: null where the sink's filter dropped it. Or, with {@code markers}
     * set, a transaction marker as each sink sees it (null where its envelope writes none), {@code messages}
     * holding the messages for it and {@code events} all null.
     */
    private record Fanout(@Nullable ChangeEvent[] events, @Nullable Message[] messages, long bytes, int indexInTx,
                          @Nullable TransactionMarker @Nullable [] markers) {
    }

    private final BatchConfig config;
    private final EventFilter pipelineFilter;
    private final Envelope[] envelopes;
    private final EventFilter[] filters;
    private final Emitter emitter;
    /** Split a transaction bigger than a batch only at {@link Batch#TRANSACTION_PART} boundaries. */
    private final boolean wholeParts;

    private List<Fanout> pending = new ArrayList<>();
    private long bytes;
    private long firstEventNanos;
    /** Entries before this index belong to committed transactions. */
    private int committedCount;
    /** Position to acknowledge once the first {@link #committedCount} entries are delivered. */
    private @Nullable Lsn committedCheckpoint;
    /** Commit LSN of the last transaction taken; replays at or before it are skipped. */
    private @Nullable Lsn lastCommitLsn;
    /** Set after a source restart until the replay passes it: records committed at or before it are old. */
    private @Nullable Lsn replayThrough;
    private long skippedReplays;
    private final TransactionMarkerMaker markerMaker;

    Batcher(BatchConfig config, EventFilter pipelineFilter, List<Envelope> sinkEnvelopes,
            List<EventFilter> sinkFilters, Emitter emitter) {
        this(config, pipelineFilter, sinkEnvelopes, sinkFilters, emitter, false, "");
    }

    /**
     * @param wholeParts a sink stores transactions in parts ({@code Sink.storesTransactionParts}): a transaction
     *                   bigger than a batch is split only before an event whose index in it is a multiple of
     *                   {@link Batch#TRANSACTION_PART}, so the batch may grow to a whole part
     * @param sourceId   the source's id, for the markers of a transaction no event of which reached the batcher
     */
    Batcher(BatchConfig config, EventFilter pipelineFilter, List<Envelope> sinkEnvelopes,
            List<EventFilter> sinkFilters, Emitter emitter, boolean wholeParts, String sourceId) {
        this.wholeParts = wholeParts;
        this.config = config;
        this.pipelineFilter = pipelineFilter;
        this.envelopes = sinkEnvelopes.toArray(Envelope[]::new);
        this.filters = sinkFilters.toArray(EventFilter[]::new);
        this.emitter = emitter;
        this.markerMaker = new TransactionMarkerMaker(envelopes, sourceId);
    }

    void add(SourceRecord record) throws InterruptedException {
        if (isReplayOfTaken(record)) {
            skippedReplays++;
            return;
        }
        if (record instanceof ChangeEvent event) {
            TransactionMarkerMaker.Made begin = markerMaker.beginIfNew(event);
            if (begin != null) {
                addMarker(begin);
            }
            ChangeEvent kept = pipelineFilter.apply(event);
            if (kept != null) {
                addEvent(kept);
            }
        } else if (record instanceof TransactionCommit commit) {
            lastCommitLsn = commit.commitLsn();
            markerMaker.end(commit).forEach(this::addMarker);
            markBoundary(commit.endLsn());
        } else if (record instanceof Heartbeat heartbeat) {
            if (!insideTransaction()) {
                markBoundary(heartbeat.lsn());
            }
        }
        if (pending.size() >= config.maxEvents() || bytes >= config.maxBytes()) {
            flushFull();
        }
    }

    /**
     * The source reconnected and replays from its acknowledged position. Drops the open transaction's
     * events that are not yet in a batch (they come again, from the transaction's first event) and skips
     * what comes again of transactions already taken.
     */
    void sourceRestarted() {
        while (pending.size() > committedCount) {
            Fanout dropped = pending.remove(pending.size() - 1);
            bytes -= dropped.bytes();
        }
        replayThrough = lastCommitLsn;
        markerMaker.sourceRestarted();
    }

    /** Replayed records skipped after source restarts, for tests and logs. */
    long skippedReplays() {
        return skippedReplays;
    }

    /**
     * Whether the record belongs to a transaction taken before the source restarted. Commit LSNs grow
     * strictly along the replication stream, so the first newer one ends the replay.
     */
    private boolean isReplayOfTaken(SourceRecord record) {
        Lsn through = replayThrough;
        if (through == null) {
            return false;
        }
        Lsn commitLsn;
        if (record instanceof ChangeEvent event) {
            commitLsn = event.position().commitLsn();
        } else if (record instanceof TransactionCommit commit) {
            commitLsn = commit.commitLsn();
        } else {
            return false;
        }
        if (commitLsn.isAfter(through)) {
            replayThrough = null;
            return false;
        }
        return true;
    }

    boolean isEmpty() {
        return pending.isEmpty() && committedCheckpoint == null;
    }

    /** Nanos when the oldest event of the open batch arrived; meaningful only when it has events. */
    long firstEventNanos() {
        return firstEventNanos;
    }

    /** Whether the open batch holds part of a transaction whose commit has not arrived yet. */
    boolean insideTransaction() {
        return committedCount < pending.size();
    }

    /** Closes what can close now: everything up to the last transaction boundary (all of it without tx respect). */
    void flushIdle() throws InterruptedException {
        if (config.respectSourceTx()) {
            emitCommittedPrefix();
        } else {
            emitFirst(pending.size());
        }
    }

    /**
     * Closes what can be acknowledged, for a stop: every complete transaction. The unfinished one at the
     * tail is dropped, since it could not be acknowledged and the source replays it after a restart;
     * sending it now would only make sinks without de-duplication see it twice.
     */
    void flushCommitted() throws InterruptedException {
        emitCommittedPrefix();
        while (pending.size() > committedCount) {
            bytes -= pending.remove(pending.size() - 1).bytes();
        }
    }

    private void addEvent(ChangeEvent event) {
        if (pending.isEmpty()) {
            firstEventNanos = System.nanoTime();
        }
        int sinks = envelopes.length;
        ChangeEvent[] perSink = new ChangeEvent[sinks];
        Message[] messages = new Message[sinks];
        long largest = 0;
        for (int s = 0; s < sinks; s++) {
            ChangeEvent kept = filters[s] == EventFilter.ALL ? event : filters[s].apply(event);
            if (kept == null || !envelopes[s].publishes(kept)) {
                continue;
            }
            perSink[s] = kept;
            messages[s] = encodedBefore(s, kept, perSink, messages);
            if (messages[s] == null) {
                messages[s] = encode(envelopes[s], kept);
            }
            largest = Math.max(largest, messages[s].payload().length);
        }
        pending.add(new Fanout(perSink, messages, largest, event.position().indexInTx(), null));
        bytes += largest;
        markerMaker.counted(event, perSink);
    }

    /** Adds a marker entry when some sink has a message for it. */
    private void addMarker(TransactionMarkerMaker.Made marker) {
        long largest = -1;
        for (Message m : marker.messages()) {
            if (m != null) {
                largest = Math.max(largest, m.payload().length);
            }
        }
        if (largest < 0) {
            return;
        }
        if (pending.isEmpty()) {
            firstEventNanos = System.nanoTime();
        }
        pending.add(new Fanout(new ChangeEvent[envelopes.length], marker.messages(), largest, marker.indexInTx(),
                marker.markers()));
        bytes += largest;
    }

    /** The message of an earlier sink with the same envelope and the same (filtered) event: encode once. */
    private @Nullable Message encodedBefore(int s, ChangeEvent kept, ChangeEvent[] perSink, Message[] messages) {
        for (int t = 0; t < s; t++) {
            if (envelopes[t] == envelopes[s] && perSink[t] == kept) {
                return messages[t];
            }
        }
        return null;
    }

    private static Message encode(Envelope envelope, ChangeEvent event) {
        try {
            return envelope.encode(event);
        } catch (RuntimeException ex) {
            throw new DeltaforgeException("envelope " + envelope.getClass().getName() + " cannot encode the "
                    + event.op().code() + " event of " + event.table() + " at LSN " + event.position().lsn()
                    + " (id " + event.id() + "): " + ex.getMessage(), ex);
        }
    }

    private void markBoundary(Lsn position) {
        committedCount = pending.size();
        // Never lower: a late heartbeat must not pull back a checkpoint the batch already holds.
        if (committedCheckpoint == null || position.isAfter(committedCheckpoint)) {
            committedCheckpoint = position;
        }
    }

    private void flushFull() throws InterruptedException {
        if (!config.respectSourceTx()) {
            emitFirst(pending.size());
            return;
        }
        emitCommittedPrefix();
        // What is left is one transaction larger than a batch: it spans several, and the checkpoint
        // moves only when its commit arrives.
        if (pending.size() >= config.maxEvents() || bytes >= config.maxBytes()) {
            emitFirst(wholeParts ? lastPartStart() : pending.size());
        }
    }

    /**
     * Where the last part of the open transaction begins: everything before it is whole parts. 0 while the
     * open transaction's events so far are all in one part (the batch waits for more).
     */
    private int lastPartStart() {
        for (int i = pending.size() - 1; i > 0; i--) {
            if (pending.get(i).indexInTx() / Batch.TRANSACTION_PART
                    != pending.get(i - 1).indexInTx() / Batch.TRANSACTION_PART) {
                return i;
            }
        }
        return 0;
    }

    private void emitCommittedPrefix() throws InterruptedException {
        if (committedCount > 0 || committedCheckpoint != null) {
            emitFirst(committedCount);
        }
    }

    /**
     * Emits the first {@code n} entries. The checkpoint goes with them when they include the last
     * boundary (it then covers exactly the committed prefix, which they contain).
     */
    private void emitFirst(int n) throws InterruptedException {
        if (n == 0 && committedCheckpoint == null) {
            return;
        }
        Lsn checkpoint = n >= committedCount ? committedCheckpoint : null;
        boolean transactionContinues = n > committedCount;
        List<Fanout> head;
        if (n == pending.size()) {
            head = pending;
            pending = new ArrayList<>();
            bytes = 0;
        } else {
            head = new ArrayList<>(pending.subList(0, n));
            pending.subList(0, n).clear();
            for (Fanout f : head) {
                bytes -= f.bytes();
            }
        }
        if (checkpoint != null) {
            committedCheckpoint = null;
            committedCount = 0;
        } else {
            // A chunk of a transaction larger than a batch may go out with no committed prefix at all.
            committedCount = Math.max(0, committedCount - n);
        }
        firstEventNanos = System.nanoTime();
        int eventCount = (int) head.stream().filter(f -> f.markers() == null).count();
        emitter.emit(eventCount, eventsPerSink(head), messagesPerSink(head), markersPerSink(head), checkpoint,
                transactionContinues);
    }

    private List<List<Batch.Marker>> markersPerSink(List<Fanout> head) {
        List<List<Batch.Marker>> out = new ArrayList<>(envelopes.length);
        for (int s = 0; s < envelopes.length; s++) {
            List<Batch.Marker> list = List.of();
            int position = 0;
            for (Fanout f : head) {
                if (f.events()[s] != null) {
                    position++;
                } else if (f.markers() != null && f.markers()[s] != null) {
                    if (list.isEmpty()) {
                        list = new ArrayList<>();
                    }
                    list.add(new Batch.Marker(position, f.markers()[s], f.messages()[s]));
                }
            }
            out.add(list);
        }
        return out;
    }

    private List<List<ChangeEvent>> eventsPerSink(List<Fanout> head) {
        List<List<ChangeEvent>> out = new ArrayList<>(envelopes.length);
        for (int s = 0; s < envelopes.length; s++) {
            List<ChangeEvent> list = new ArrayList<>(head.size());
            for (Fanout f : head) {
                if (f.events()[s] != null) {
                    list.add(f.events()[s]);
                }
            }
            out.add(list);
        }
        return out;
    }

    private List<List<Message>> messagesPerSink(List<Fanout> head) {
        List<List<Message>> out = new ArrayList<>(envelopes.length);
        for (int s = 0; s < envelopes.length; s++) {
            List<Message> list = new ArrayList<>(head.size());
            for (Fanout f : head) {
                if (f.events()[s] != null) {
                    list.add(f.messages()[s]);
                }
            }
            out.add(list);
        }
        return out;
    }
}
