package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.RetryableException;
import io.deltaforge.nats.AtomicTransactions;
import io.deltaforge.nats.internal.OutgoingMessages.Outgoing;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.Headers;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The working part of the NATS sink: one connection, a bounded window of unacknowledged publishes, and
 * the rules that turn publish results into batch results.
 *
 * <p>Threads: {@link #start()}, {@link #send(Batch)} and {@link #close()} are called by the engine's
 * single sink thread; acknowledgements complete on jnats threads and only touch atomics and futures.
 */
public final class JetStreamPublisher {
    private static final Logger log = LoggerFactory.getLogger(JetStreamPublisher.class);
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

    private final NatsSinkSettings settings;
    private final String name;
    private final NatsConnector connector;
    private final StreamSetup streamSetup;
    private final DeadLetters deadLetters;
    private final SizeLimits limits = new SizeLimits();
    private final InFlightWindow window;
    private final OutgoingMessages outgoing;
    /** Set when JetStream stopped answering; the next send checks the stream before publishing. */
    private volatile boolean recheckStream;
    private volatile @Nullable Connection connection;
    /** Why the stream would refuse transaction markers, null when it captures them; found at start. */
    private volatile @Nullable String markersRefused;
    /** Whether transactions go as atomic batches; decided at start. */
    private volatile boolean atomic;
    private volatile boolean started;
    private volatile boolean closed;
    private volatile @Nullable JetStream jetStream;
    /** Numbers the atomic attempts; starts at random so that two runs' attempts differ. Sink thread only. */
    private long attempt = ThreadLocalRandom.current().nextLong();
    /** The send and ack deadlines of batches in flight; from the first start until close. */
    private volatile @Nullable AckDeadlines deadlines;

    public JetStreamPublisher(NatsSinkSettings settings) {
        this.settings = settings;
        this.name = "sink " + settings.id();
        this.connector = new NatsConnector(settings, name);
        this.streamSetup = new StreamSetup(settings, name);
        this.deadLetters = new DeadLetters(settings, name);
        this.outgoing = new OutgoingMessages(settings, name, deadLetters, limits);
        this.window = new InFlightWindow(settings, name, this::fail);
    }

    public long published() {
        return window.published();
    }

    public long duplicates() {
        return window.duplicates();
    }

    /** Events replaced by a dead-letter record because they were too big. */
    public long deadLettered() {
        return deadLetters.count();
    }

    /** Payload bytes waiting for acknowledgement now. */
    public long bytesInFlight() {
        return window.bytesInFlight();
    }

    /** Whether transactions go as JetStream atomic batches (decided at start). */
    public boolean atomic() {
        return atomic;
    }

    public boolean isConnected() {
        Connection nc = connection;
        return nc != null && nc.getStatus() == Connection.Status.CONNECTED;
    }

    // ---- start ---------------------------------------------------------------------------------------

    public void start() {
        if (started) {
            throw new IllegalStateException(name + " was already started");
        }
        if (deadlines == null && !closed) {
            deadlines = new AckDeadlines("deltaforge-" + settings.id() + "-ack-deadlines");
        }
        // Marked started only once it worked: the engine calls start() again after a passing failure.
        Connection nc = connector.connect();
        connection = nc;
        try {
            JetStreamManagement jsm = nc.jetStreamManagement();
            StreamConfiguration config = streamSetup.check(jsm, StreamSetup.Mode.CREATE_IF_ALLOWED, atomicWanted(nc));
            limits.record(nc, config);
            boolean deadLettersInStream = deadLetters.checkSubject(jsm);
            StreamConfiguration stream = java.util.Objects.requireNonNull(config);
            atomic = AtomicBatches.decide(settings, AtomicBatches.obstacle(settings, nc.getServerInfo(), stream,
                    deadLettersInStream), stream, name);
            markersRefused = streamSetup.transactionSubjectProblem(stream);
            if (markersRefused != null) {
                log.warn("{}: {}; a batch with markers fails", name, markersRefused);
            }
            jetStream = nc.jetStream();
            started = true;
        } catch (IOException e) {
            connection = null;
            connector.closeQuietly(nc);
            throw jetStreamUnreachable(e);
        } catch (RuntimeException e) {
            connection = null;
            connector.closeQuietly(nc);
            throw e;
        }
    }

    /**
     * What {@link #start()} checks, creating nothing: connects, checks the stream (subjects, configured
     * settings, dead-letter subject, duplicate window) and disconnects. Notes what the first start would
     * create. Leaves the publisher unstarted.
     */
    public List<String> check() {
        if (started) {
            throw new IllegalStateException(name + " is started; check() is for an unstarted sink");
        }
        Connection nc = connector.connect();
        try {
            JetStreamManagement jsm = nc.jetStreamManagement();
            StreamConfiguration config = streamSetup.check(jsm, StreamSetup.Mode.REPORT_ONLY, false);
            List<String> notes = new ArrayList<>();
            boolean deadLetterInStream;
            if (config == null) {
                // Judge atomic publish on the stream the first start would create, so that `on` against an
                // old server fails here rather than at that start.
                notes.add(streamSetup.creationNote());
                config = streamSetup.planned(atomicWanted(nc));
                deadLetterInStream = deadLetters.checkSubject(jsm, config);
            } else {
                deadLetterInStream = deadLetters.checkSubject(jsm);
            }
            String markers = streamSetup.transactionSubjectProblem(config);
            if (markers != null) {
                notes.add(name + ": " + markers);
            }
            if (settings.atomicTransactions() == AtomicTransactions.OFF) {
                return notes;
            }
            String obstacle = AtomicBatches.obstacle(settings, nc.getServerInfo(), config, deadLetterInStream);
            if (obstacle == null && settings.atomicTransactions() == AtomicTransactions.AUTO) {
                obstacle = AtomicBatches.autoDeclines(settings, config);
            }
            if (obstacle != null && settings.atomicTransactions() == AtomicTransactions.ON) {
                AtomicBatches.decide(settings, obstacle, config, name);
            }
            if (obstacle != null) {
                notes.add(name + ": transactions will be published event by event, not atomically"
                        + " (atomic_transactions: auto): " + obstacle);
            }
            return notes;
        } catch (IOException e) {
            throw jetStreamUnreachable(e);
        } finally {
            connector.closeQuietly(nc);
        }
    }

    private boolean atomicWanted(Connection nc) {
        return settings.atomicTransactions() != AtomicTransactions.OFF
                && AtomicBatches.serverSupports(nc.getServerInfo());
    }

    private RetryableException jetStreamUnreachable(IOException e) {
        return new RetryableException(name + ": cannot reach JetStream on " + settings.redactedServers()
                + " to check stream '" + settings.stream() + "': " + e.getMessage()
                + "; is JetStream enabled (nats-server -js)?", e);
    }

    /**
     * Replaces a lost connection with a fresh one; called on the sink thread before publishing. Returns
     * null (with the batch failed retryably) when no server answers yet: the engine backs off and resends.
     */
    private @Nullable JetStream connectedJetStream(Batch batch, CompletableFuture<Void> acks) {
        try {
            connected("batch " + batch.sequence());
            return jetStream;
        } catch (DeltaforgeException e) {
            acks.completeExceptionally(e);
            return null;
        }
    }

    /**
     * The live connection, or a fresh one in place of a lost one. Throws a {@link RetryableException} while
     * no server answers, a {@link DeltaforgeException} when one refuses us.
     */
    private Connection connected(String purpose) {
        Connection nc = connection;
        if (nc != null && jetStream != null && nc.getStatus() != Connection.Status.CLOSED) {
            return nc;
        }
        if (nc != null) {
            connector.closeQuietly(nc);
        }
        connection = null;
        jetStream = null;
        try {
            nc = connector.connect();
            connection = nc;
            jetStream = nc.jetStream();
            limits.record(nc, null);
            // The stream may have gone while we were away; a resend into nothing would only time out.
            recheckStream = true;
            return nc;
        } catch (IOException | RuntimeException e) {
            int attempts = connector.reconnectFailed();
            log.debug("{}: reconnect attempt {} failed: {}", name, attempts, e.toString());
            throw e instanceof DeltaforgeException de ? de
                    : new RetryableException(name + ": cannot reconnect for " + purpose + ": " + e, e);
        }
    }

    /** See {@link StoredEvents}; called on the sink thread before the first send and before each resend. */
    public Set<String> storedSince(String sourceId, Lsn commitLsn) {
        if (!started) {
            throw new IllegalStateException(name + ": storedSince() before start()");
        }
        try {
            return StoredEvents.since(connected("reading the stream"), settings.stream(), sourceId, commitLsn, name);
        } catch (IOException | JetStreamApiException | IllegalStateException e) {
            // IllegalStateException: jnats refuses a request while the connection is reconnecting (its
            // reconnect buffer is 0), which is the same "not now" as a timeout.
            throw new RetryableException(name + ": cannot read stream '" + settings.stream() + "' to find the events"
                    + " it already holds: " + e, e);
        }
    }

    // ---- send ----------------------------------------------------------------------------------------

    /** Publishes the batch; never throws. See NatsSink for the contract. */
    public CompletionStage<Void> send(Batch batch) {
        CompletableFuture<Void> acks = new CompletableFuture<>();
        CompletableFuture<Void> result = new CompletableFuture<>();
        AckDeadlines timers = deadlines;
        if (timers != null) {
            timers.add(acks, System.nanoTime() + settings.batchTimeout().toNanos(),
                    () -> acks.completeExceptionally(new TimeoutException()));
        }
        acks.whenComplete((ok, error) -> {
            if (error == null) {
                result.complete(null);
                return;
            }
            Throwable cause = Failures.unwrap(error);
            if (cause instanceof TimeoutException) {
                cause = new RetryableException(name + ": batch " + batch.sequence() + " (" + batch.size()
                        + " messages) was not fully acknowledged within " + settings.batchTimeout().toMillis()
                        + " ms; it will be resent", cause);
            }
            result.completeExceptionally(cause);
        });
        try {
            publishAll(batch, acks);
        } catch (RuntimeException e) {
            acks.completeExceptionally(e instanceof DeltaforgeException ? e
                    : new DeltaforgeException(name + ": unexpected failure sending batch " + batch.sequence()
                    + ": " + e, e));
        }
        return result;
    }

    private void publishAll(Batch given, CompletableFuture<Void> acks) {
        if (!started || closed) {
            acks.completeExceptionally(new IllegalStateException(name + ": send() before start() or after close()"));
            return;
        }
        String refused = markersRefused;
        if (refused != null && !given.markers().isEmpty()) {
            acks.completeExceptionally(new DeltaforgeException(name + ": " + refused));
            return;
        }
        Batch batch = TransactionMarkers.inline(given, settings.transactionSubject());
        JetStream js = connectedJetStream(batch, acks);
        if (js == null || !streamStillUsable(acks)) {
            return;
        }
        InFlightWindow.Sending sending = window.sending(batch, acks, deadlines);
        Connection nc = java.util.Objects.requireNonNull(connection);
        if (atomic) {
            publishAtomically(sending, nc, js);
            return;
        }
        List<ChangeEvent> events = batch.events();
        List<Message> messages = batch.messages();
        for (int i = 0; i < messages.size() && !acks.isDone(); i++) {
            ChangeEvent event = events.get(i);
            Outgoing out = outgoing.build(event, messages.get(i), null, acks);
            if (out == null) {
                return;
            }
            String subject = out.subject();
            Headers headers = out.headers();
            byte[] body = out.body();
            int size = out.size();
            if (!sending.acquire(size, 1)) {
                return;
            }
            CompletableFuture<io.nats.client.Message> ack;
            try {
                // The Nats-Msg-Id (and Nats-Expected-Stream) headers are in `headers` already: without
                // PublishOptions jnats sends them as they are instead of copying the headers to merge them.
                ack = PubAcks.publish(nc, subject, headers, body);
            } catch (RuntimeException e) {
                sending.release(1, size);
                // Stop at the first refusal: later messages must not overtake this one once it resends.
                acks.completeExceptionally(fail(event, subject, size, e));
                return;
            }
            sending.sent(i, ack, subject, size);
            // No timer per message: jnats times out each request future itself (requestCleanupInterval),
            // which releases the window, and one timer per batch (InFlightWindow.Sending#allSent) bounds how
            // long the batch waits.
            ack.whenComplete((reply, error) -> {
                sending.release(1, size);
                PubAcks.Outcome outcome = PubAcks.read(ack, reply, error);
                if (outcome.failure() != null) {
                    acks.completeExceptionally(fail(event, subject, size, outcome.failure()));
                    return;
                }
                sending.stored(1, outcome.duplicate());
                sending.acknowledged();
            });
        }
        sending.allSent();
    }

    /**
     * Publishes each transaction of the batch as atomic batches ({@link AtomicBatches#pieces}); a transaction of
     * one event goes as a plain publish, which is atomic already (the server would stage it in a batch store of
     * its own first). In an atomic batch every message but the last goes without a reply (the server answers only
     * the commit), the last with Nats-Batch-Commit as a JetStream publish whose PubAck (or error) speaks for the
     * whole atomic batch. A batch's window places are taken before its first message, so it never waits half-sent
     * (the server abandons a batch idle for 10 s).
     */
    private void publishAtomically(InFlightWindow.Sending sending, Connection nc, JetStream js) {
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
                        h -> batchHeaders(h, piece, sequence, commit), acks);
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
            CompletableFuture<io.nats.client.Message> ack;
            try {
                for (int k = 0; k < out.length - 1; k++) {
                    nc.publish(out[k].subject(), out[k].headers(), out[k].body());
                }
                ack = PubAcks.publish(nc, last.subject(), last.headers(), last.body());
            } catch (RuntimeException e) {
                sending.release(permits, held);
                acks.completeExceptionally(fail(last.event(), last.subject(), last.size(), e));
                return;
            }
            sending.sent(piece.to() - 1, ack, last.subject(), last.size());
            ack.whenComplete((reply, answer) -> {
                sending.release(permits, held);
                PubAcks.Outcome outcome = PubAcks.read(ack, reply, answer);
                Throwable error = outcome.failure();
                CompletableFuture<Void> stored = error == null ? CompletableFuture.completedFuture(null)
                        : afterRejection(sending, piece, out, js, error);
                stored.whenComplete((ok, failure) -> {
                    if (failure != null) {
                        acks.completeExceptionally(failure);
                        return;
                    }
                    if (error == null) {
                        sending.stored(out.length, outcome.duplicate());
                    }
                    sending.acknowledged();
                });
            });
        }
        sending.allSent();
    }

    private static void batchHeaders(Headers headers, AtomicBatches.Piece piece, int sequence, boolean commit) {
        if (piece.single()) {
            return;
        }
        headers.put(AtomicBatches.BATCH_ID, piece.id());
        headers.put(AtomicBatches.BATCH_SEQUENCE, Integer.toString(sequence));
        if (commit) {
            headers.put(AtomicBatches.BATCH_COMMIT, "1");
        }
        if (piece.split()) {
            headers.put(AtomicBatches.PART_HEADER, Integer.toString(piece.part()));
            headers.put(AtomicBatches.LAST_PART_HEADER, Boolean.toString(piece.lastPart()));
        }
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
            return CompletableFuture.failedFuture(fail(last.event(), last.subject(), last.size(), error));
        }
        switch (api.getApiErrorCode()) {
            case AtomicBatches.CONTAINS_DUPLICATE:
                return oneByOne(sending, piece, out, js);
            case AtomicBatches.INCOMPLETE:
                return CompletableFuture.failedFuture(new RetryableException(what + " was abandoned by the server ("
                        + api.getErrorDescription() + "): a message went missing on the way, the batch idled for more"
                        + " than the server's batch timeout, or an earlier attempt of it was still open; it will be resent",
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
                return CompletableFuture.failedFuture(fail(last.event(), last.subject(), last.size(), error));
        }
    }

    private CompletableFuture<Void> oneByOne(InFlightWindow.Sending sending, AtomicBatches.Piece piece,
                                             Outgoing[] out, JetStream js) {
        AtomicInteger added = new AtomicInteger();
        CompletableFuture<?>[] each = new CompletableFuture<?>[out.length];
        for (int k = 0; k < out.length; k++) {
            Outgoing o = out[k];
            Headers headers = new Headers(o.headers());
            headers.remove(AtomicBatches.BATCH_ID, AtomicBatches.BATCH_SEQUENCE, AtomicBatches.BATCH_COMMIT);
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
                throw fail(last.event(), last.subject(), last.size(), error);
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


    /** After JetStream stopped answering, tells a deleted stream (permanent) from an outage (retryable). */
    private boolean streamStillUsable(CompletableFuture<Void> acks) {
        if (!recheckStream) {
            return true;
        }
        Connection nc = connection;
        if (nc == null || nc.getStatus() != Connection.Status.CONNECTED) {
            return true;
        }
        try {
            limits.record(nc, streamSetup.recheck(nc.jetStreamManagement()));
            recheckStream = false;
            return true;
        } catch (IOException e) {
            return true;
        } catch (DeltaforgeException e) {
            acks.completeExceptionally(e);
            return false;
        }
    }

    private DeltaforgeException fail(ChangeEvent event, String subject, int payloadBytes, Throwable error) {
        DeltaforgeException e = Failures.classify(settings.id(), settings.stream(), subject,
                settings.sendTimeout(), limits.text(), event, payloadBytes, error);
        if (e instanceof RetryableException && String.valueOf(e.getMessage()).contains("no JetStream responder")) {
            recheckStream = true;
        }
        if (e instanceof RetryableException && connector.permissionDenied(subject)) {
            // The server refuses the publish with -ERR and never acknowledges it: a resend cannot help.
            return new DeltaforgeException(name + ": the NATS server does not allow this user to publish to '"
                    + subject + "' (Permissions Violation), so event " + event.id() + " of " + event.table()
                    + " cannot be delivered; grant publish permission for the sink's subjects", e);
        }
        return e;
    }

    // ---- close ---------------------------------------------------------------------------------------

    public void close() {
        closed = true;
        AckDeadlines timers = deadlines;
        if (timers != null) {
            timers.close();
        }
        connector.closing();
        Connection nc = connection;
        connection = null;
        jetStream = null;
        if (nc == null) {
            return;
        }
        try {
            if (nc.getStatus() == Connection.Status.CONNECTED) {
                // Drain flushes what is queued and waits for outstanding acks before closing.
                nc.drain(CLOSE_WAIT).get(CLOSE_WAIT.toMillis() + 1000, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.debug("{}: drain did not finish cleanly: {}", name, e.toString());
        } finally {
            connector.closeQuietly(nc);
        }
    }
}
