package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.deltaforge.nats.internal.OutgoingMessages.Outgoing;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.impl.Headers;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes each transaction of a batch as atomic batches ({@link AtomicBatches#pieces}); a transaction of
 * one event goes as a plain publish, which is atomic already (the server would stage it in a batch store of
 * its own first). In an atomic batch every message but the last goes without a reply (the server answers only
 * the commit), the last with Nats-Batch-Commit as a JetStream publish whose PubAck (or error) speaks for the
 * whole atomic batch. A batch's window places are taken before its first message, so it never waits half-sent
 * (the server abandons a batch idle for 10 s).
 *
 * <p>Threads: {@link #publish} is called on the sending thread (the engine sends one batch at a time).
 */
final class AtomicPublish {
    private static final Logger log = LoggerFactory.getLogger(AtomicPublish.class);

    private final NatsSinkSettings settings;
    private final String name;
    private final OutgoingMessages outgoing;
    private final InFlightWindow window;
    private final PublishFailure fail;
    /** Numbers the atomic attempts; starts at random so that two runs' attempts differ. Sink thread only. */
    private long attempt = ThreadLocalRandom.current().nextLong();

    AtomicPublish(NatsSinkSettings settings, String name, OutgoingMessages outgoing, InFlightWindow window,
                  PublishFailure fail) {
        this.settings = settings;
        this.name = name;
        this.outgoing = outgoing;
        this.window = window;
        this.fail = fail;
    }

    void publish(InFlightWindow.Sending sending, Connection nc, JetStream js, PubAckInbox inbox) {
        Batch batch = sending.batch();
        CompletableFuture<Void> acks = sending.acks();
        List<AtomicBatches.Piece> pieces = AtomicBatches.pieces(batch, settings.splitOversize(), name, attempt++);
        List<ChangeEvent> events = batch.events();
        List<Message> messages = batch.messages();
        for (AtomicBatches.Piece piece : pieces) {
            if (acks.isDone()) {
                break;
            }
            Outgoing[] out = new Outgoing[piece.size()];
            long bytes = 0;
            for (int k = 0; k < out.length; k++) {
                int sequence = k + 1;
                boolean commit = sequence == out.length;
                out[k] = outgoing.build(events.get(piece.from() + k), messages.get(piece.from() + k),
                        batchHeaders(piece, sequence, commit), acks);
                if (out[k] == null) {
                    return;
                }
                bytes += out[k].size();
            }
            int permits = Math.min(out.length, settings.maxInFlight());
            long held = Math.min(bytes, window.byteCapacity());
            if (!sending.acquire(held, permits)) {
                return;
            }
            Outgoing last = out[out.length - 1];
            try {
                for (int k = 0; k < out.length - 1; k++) {
                    nc.publish(out[k].subject(), out[k].headers(), out[k].body());
                }
            } catch (RuntimeException e) {
                sending.release(permits, held);
                acks.completeExceptionally(fail.of(last.event(), last.subject(), last.size(), e));
                return;
            }
            CommitAck ack = new CommitAck(sending, piece, out, js, permits, held);
            // Counted before it goes out: its PubAck may come before publish returns.
            sending.sent(piece.to() - 1, ack, last.subject(), last.size());
            // The clock read here: an atomic batch's messages go before its commit, so a reading taken for an
            // earlier one would be too old.
            if (!inbox.publish(last.subject(), last.headers(), last.body(), ack, System.nanoTime())) {
                return;
            }
        }
        sending.allSent();
    }

    /** The PubAck (or error) of an atomic batch's commit message, which speaks for the whole atomic batch. */
    private final class CommitAck extends PendingPublish {
        private final InFlightWindow.Sending sending;
        private final AtomicBatches.Piece piece;
        private final Outgoing[] out;
        private final JetStream js;
        private final int permits;
        private final long held;

        CommitAck(InFlightWindow.Sending sending, AtomicBatches.Piece piece, Outgoing[] out, JetStream js,
                  int permits, long held) {
            this.sending = sending;
            this.piece = piece;
            this.out = out;
            this.js = js;
            this.permits = permits;
            this.held = held;
        }

        @Override
        protected void onAnswer(PubAcks.Outcome outcome) {
            sending.release(permits, held);
            Throwable error = outcome.failure();
            if (error == null) {
                sending.stored(out.length, outcome.duplicate());
                sending.acknowledged();
                return;
            }
            afterRejection(sending, piece, out, js, error).whenComplete((ok, failure) -> {
                if (failure != null) {
                    sending.acks().completeExceptionally(failure);
                } else {
                    sending.acknowledged();
                }
            });
        }
    }

    /** Key, value, key, value...: the headers that put a message into its atomic batch. */
    private static String[] batchHeaders(AtomicBatches.Piece piece, int sequence, boolean commit) {
        if (piece.single()) {
            return OutgoingMessages.NO_BATCH;
        }
        String[] headers = new String[4 + (commit ? 2 : 0) + (piece.split() ? 4 : 0)];
        int at = 0;
        headers[at++] = AtomicBatches.BATCH_ID;
        headers[at++] = piece.id();
        headers[at++] = AtomicBatches.BATCH_SEQUENCE;
        headers[at++] = Integer.toString(sequence);
        if (commit) {
            headers[at++] = AtomicBatches.BATCH_COMMIT;
            headers[at++] = "1";
        }
        if (piece.split()) {
            headers[at++] = AtomicBatches.PART_HEADER;
            headers[at++] = Integer.toString(piece.part());
            headers[at++] = AtomicBatches.LAST_PART_HEADER;
            headers[at] = Boolean.toString(piece.lastPart());
        }
        return headers;
    }

    /**
     * What a rejected atomic batch means. A duplicate message id means the batch is stored already: the same
     * transaction always yields the same atomic batches (by {@code indexInTx}), each stored whole or not at all,
     * so one of its ids stored means all of them are. That is checked, not assumed: its messages are published
     * again one by one, without batch headers, and JetStream answers "duplicate" for each one it holds; one it
     * does not hold (a stream filled partly by an earlier run with atomic_transactions off) is stored then, so
     * no event is ever skipped. Any other rejection fails the batch, retryably when a resend can succeed.
     */
    private CompletableFuture<Void> afterRejection(InFlightWindow.Sending sending, AtomicBatches.Piece piece,
                                                   Outgoing[] out, JetStream js, Throwable error) {
        Throwable cause = Failures.unwrap(error);
        Outgoing last = out[out.length - 1];
        String what = name + ": atomic batch " + piece.id() + " (" + out.length + " events of the transaction committed"
                + " at LSN " + last.event().position().commitLsn() + ")";
        if (!(cause instanceof JetStreamApiException api)) {
            return CompletableFuture.failedFuture(fail.of(last.event(), last.subject(), last.size(), error));
        }
        switch (api.getApiErrorCode()) {
            case AtomicBatches.CONTAINS_DUPLICATE:
                return oneByOne(sending, piece, out, js);
            case AtomicBatches.INCOMPLETE:
                return CompletableFuture.failedFuture(new RetryableException(what + " was abandoned by the server ("
                        + api.getErrorDescription() + "): a message went missing on the way (a lost connection), the"
                        + " server restarted, or the batch idled for more than the server's batch timeout; it will be"
                        + " resent",
                        api));
            case Failures.DUPLICATE_IN_PROCESS:
                return CompletableFuture.failedFuture(new RetryableException(what + " overlaps a publish the server is"
                        + " still storing (" + api.getErrorDescription() + "); it will be resent", api));
            case AtomicBatches.TOO_LARGE:
                return CompletableFuture.failedFuture(new DeltaforgeException(what + " is larger than the server allows ("
                        + api.getErrorDescription() + "); raise the server's jetstream max_batch_size to at least "
                        + Batch.TRANSACTION_PART + ", or set atomic_transactions: off", api));
            case AtomicBatches.DISABLED:
                return CompletableFuture.failedFuture(new DeltaforgeException(what + " was refused: stream '"
                        + settings.stream() + "' no longer allows atomic publish; allow it again (allow_atomic: true) or"
                        + " set atomic_transactions: off", api));
            default:
                return CompletableFuture.failedFuture(fail.of(last.event(), last.subject(), last.size(), error));
        }
    }

    private CompletableFuture<Void> oneByOne(InFlightWindow.Sending sending, AtomicBatches.Piece piece,
                                             Outgoing[] out, JetStream js) {
        AtomicInteger added = new AtomicInteger();
        CompletableFuture<?>[] each = new CompletableFuture<?>[out.length];
        for (int k = 0; k < out.length; k++) {
            Outgoing o = out[k];
            Headers headers = WireHeaders.mutableCopy(o.headers(), AtomicBatches.BATCH_ID,
                    AtomicBatches.BATCH_SEQUENCE, AtomicBatches.BATCH_COMMIT);
            try {
                each[k] = js.publishAsync(o.subject(), headers, o.body()).thenAccept(pa -> {
                    sending.stored(1, pa.isDuplicate());
                    if (!pa.isDuplicate()) {
                        added.incrementAndGet();
                    }
                });
            } catch (RuntimeException e) {
                each[k] = CompletableFuture.failedFuture(e);
            }
        }
        return CompletableFuture.allOf(each).handle((ok, error) -> {
            if (error != null) {
                Outgoing last = out[out.length - 1];
                throw fail.of(last.event(), last.subject(), last.size(), error);
            }
            if (added.get() == 0) {
                log.debug("{}: atomic batch {} was stored already ({} events); nothing stored twice", name, piece.id(),
                        out.length);
            } else {
                log.warn("{}: stream '{}' held only part of atomic batch {} (published without atomic batches before?);"
                        + " stored its {} missing event(s) one by one", name, settings.stream(), piece.id(), added.get());
            }
            return null;
        });
    }
}
