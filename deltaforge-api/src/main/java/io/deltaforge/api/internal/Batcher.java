package io.deltaforge.api.internal;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Heartbeat;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Groups records into batches. Pure logic, driven by one thread: {@link #add} for each record in log
 * order, {@link #flushIdle} when the source is quiet or the oldest event waited {@code maxWait}, and
 * {@link #flushAll} when stopping.
 *
 * <p>Each event is encoded once per distinct envelope as it arrives, so batch sizes are measured in real
 * bytes. A batch carries a checkpoint only when it ends at a transaction boundary; with
 * {@code respectSourceTx} it ends only there, unless one transaction alone outgrows the limits.
 */
final class Batcher {
    /** Receives each closed batch; {@code messages.get(s)} are the encodings for sink {@code s}. */
    interface Emitter {
        void emit(List<ChangeEvent> events, List<List<Message>> messages, @Nullable Lsn checkpoint)
                throws InterruptedException;
    }

    private final BatchConfig config;
    private final List<Envelope> envelopes;
    /** For each sink, the index of its envelope in {@link #envelopes}: sinks that share one encode once. */
    private final int[] envelopeOfSink;
    private final Emitter emitter;

    private List<ChangeEvent> events = new ArrayList<>();
    private List<List<Message>> encoded;
    private long bytes;
    private long firstEventNanos;
    /** Events before this index belong to committed transactions. */
    private int committedCount;
    /** Position to acknowledge once the first {@link #committedCount} events are delivered. */
    private @Nullable Lsn committedCheckpoint;

    Batcher(BatchConfig config, List<Envelope> sinkEnvelopes, Emitter emitter) {
        this.config = config;
        this.emitter = emitter;
        this.envelopes = new ArrayList<>();
        this.envelopeOfSink = new int[sinkEnvelopes.size()];
        for (int s = 0; s < sinkEnvelopes.size(); s++) {
            Envelope e = sinkEnvelopes.get(s);
            int existing = indexOfIdentical(envelopes, e);
            if (existing < 0) {
                envelopes.add(e);
                existing = envelopes.size() - 1;
            }
            envelopeOfSink[s] = existing;
        }
        this.encoded = newEncodedLists();
    }

    void add(SourceRecord record) throws InterruptedException {
        if (record instanceof ChangeEvent event) {
            addEvent(event);
        } else if (record instanceof TransactionCommit commit) {
            markBoundary(commit.endLsn());
        } else if (record instanceof Heartbeat heartbeat) {
            if (committedCount == events.size()) {
                markBoundary(heartbeat.lsn());
            }
        }
        if (events.size() >= config.maxEvents() || bytes >= config.maxBytes()) {
            flushFull();
        }
    }

    boolean isEmpty() {
        return events.isEmpty() && committedCheckpoint == null;
    }

    /** Nanos when the oldest event of the open batch arrived; meaningful only when it has events. */
    long firstEventNanos() {
        return firstEventNanos;
    }

    /** Whether the open batch holds part of a transaction whose commit has not arrived yet. */
    boolean insideTransaction() {
        return committedCount < events.size();
    }

    /** Closes what can close now: everything up to the last transaction boundary (all of it without tx respect). */
    void flushIdle() throws InterruptedException {
        if (config.respectSourceTx()) {
            emitCommittedPrefix();
        } else {
            emitAll();
        }
    }

    /** Closes everything, mid-transaction or not; the checkpoint still covers only complete transactions. */
    void flushAll() throws InterruptedException {
        emitAll();
    }

    private void addEvent(ChangeEvent event) {
        if (events.isEmpty()) {
            firstEventNanos = System.nanoTime();
        }
        events.add(event);
        long largest = 0;
        Message[] byEnvelope = new Message[envelopes.size()];
        for (int e = 0; e < byEnvelope.length; e++) {
            try {
                byEnvelope[e] = envelopes.get(e).encode(event);
            } catch (RuntimeException ex) {
                throw new DeltaforgeException("envelope " + envelopes.get(e).getClass().getName()
                        + " cannot encode the " + event.op().code() + " event of " + event.table() + " at LSN "
                        + event.position().lsn() + " (id " + event.id() + "): " + ex.getMessage(), ex);
            }
            largest = Math.max(largest, byEnvelope[e].payload().length);
        }
        for (int s = 0; s < envelopeOfSink.length; s++) {
            encoded.get(s).add(byEnvelope[envelopeOfSink[s]]);
        }
        bytes += largest;
    }

    private void markBoundary(Lsn position) {
        committedCount = events.size();
        committedCheckpoint = position;
    }

    private void flushFull() throws InterruptedException {
        if (!config.respectSourceTx()) {
            emitAll();
            return;
        }
        emitCommittedPrefix();
        // What is left is one transaction larger than a batch: it spans several, and the checkpoint
        // moves only when its commit arrives.
        if (events.size() >= config.maxEvents() || bytes >= config.maxBytes()) {
            emitAll();
        }
    }

    private void emitCommittedPrefix() throws InterruptedException {
        if (committedCount == events.size()) {
            emitAll();
            return;
        }
        if (committedCount == 0 && committedCheckpoint == null) {
            return;
        }
        int n = committedCount;
        List<ChangeEvent> head = new ArrayList<>(events.subList(0, n));
        List<List<Message>> headMessages = new ArrayList<>(encoded.size());
        long headBytes = 0;
        for (List<Message> perSink : encoded) {
            headMessages.add(new ArrayList<>(perSink.subList(0, n)));
            perSink.subList(0, n).clear();
        }
        for (int i = 0; i < n; i++) {
            headBytes += largestPayload(headMessages, i);
        }
        events.subList(0, n).clear();
        Lsn checkpoint = committedCheckpoint;
        bytes -= headBytes;
        committedCount = 0;
        committedCheckpoint = null;
        firstEventNanos = System.nanoTime();
        emitter.emit(head, headMessages, checkpoint);
    }

    private void emitAll() throws InterruptedException {
        if (isEmpty()) {
            return;
        }
        List<ChangeEvent> batch = events;
        List<List<Message>> messages = encoded;
        Lsn checkpoint = committedCheckpoint;
        events = new ArrayList<>();
        encoded = newEncodedLists();
        bytes = 0;
        committedCount = 0;
        committedCheckpoint = null;
        emitter.emit(batch, messages, checkpoint);
    }

    private static long largestPayload(List<List<Message>> messages, int i) {
        long largest = 0;
        for (List<Message> perSink : messages) {
            largest = Math.max(largest, perSink.get(i).payload().length);
        }
        return largest;
    }

    private List<List<Message>> newEncodedLists() {
        List<List<Message>> lists = new ArrayList<>(envelopeOfSink.length);
        for (int s = 0; s < envelopeOfSink.length; s++) {
            lists.add(new ArrayList<>());
        }
        return lists;
    }

    private static int indexOfIdentical(List<Envelope> list, Envelope e) {
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i) == e) {
                return i;
            }
        }
        return -1;
    }
}
