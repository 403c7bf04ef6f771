package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.RetryableException;
import io.deltaforge.nats.AtomicTransactions;
import io.deltaforge.spi.Batch;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StreamConfiguration;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The working part of the NATS sink: one connection and the stream it publishes to (start, check, reconnect,
 * close), and the send of each batch within one window of unacknowledged publishes ({@link InFlightWindow}),
 * event by event ({@link EventByEventPublish}) or as atomic batches ({@link AtomicPublish}), their PubAcks
 * read on the connection's {@link PubAckInbox}.
 *
 * <p>Threads: {@link #start()}, {@link #send(Batch)} and {@link #close()} are called one at a time by the
 * engine (the sending thread); acknowledgements complete on whichever thread answers a publish (see
 * {@link InFlightWindow}) and only touch atomics and futures.
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
    private final EventByEventPublish eventByEvent;
    private final AtomicPublish atomicPublish;
    /** Set when JetStream stopped answering; the next send checks the stream before publishing. */
    private volatile boolean recheckStream;
    private volatile @Nullable Connection connection;
    /** Where the PubAcks of {@link #connection} arrive; replaced with it. */
    private volatile @Nullable PubAckInbox inbox;
    /** Why the stream would refuse transaction markers, null when it captures them; found at start. */
    private volatile @Nullable String markersRefused;
    /** Whether transactions go as atomic batches; decided at start. */
    private volatile boolean atomic;
    private volatile boolean started;
    private volatile boolean closed;
    private volatile @Nullable JetStream jetStream;
    /** The send and ack deadlines of batches in flight; from the first start until close. */
    private volatile @Nullable AckDeadlines deadlines;

    public JetStreamPublisher(NatsSinkSettings settings) {
        this.settings = settings;
        this.name = "sink " + settings.id();
        this.connector = new NatsConnector(settings, name);
        this.streamSetup = new StreamSetup(settings, name);
        this.deadLetters = new DeadLetters(settings, name);
        OutgoingMessages outgoing = new OutgoingMessages(settings, name, deadLetters, limits);
        this.window = new InFlightWindow(settings, name, this::fail);
        this.eventByEvent = new EventByEventPublish(outgoing, this::fail);
        this.atomicPublish = new AtomicPublish(settings, name, outgoing, window, this::fail);
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
            deadlines = new AckDeadlines("deltaforge-" + settings.id() + "-ack-deadlines", this::expireReplies);
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
            String durability = streamSetup.durabilityProblem(stream);
            if (durability != null) {
                log.warn("{}: {}", name, durability);
            }
            markersRefused = streamSetup.transactionSubjectProblem(stream);
            if (markersRefused != null) {
                // Only an envelope that writes markers meets it, and the sink cannot know which envelope it gets:
                // not a warning for every pipeline whose stream predates transaction_subject.
                log.info("{}: {}; this matters only with an envelope that writes transaction markers, and a batch"
                        + " with markers then fails", name, markersRefused);
            }
            jetStream = nc.jetStream();
            inbox = openInbox(nc);
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
     * settings, dead-letter subject, duplicate window, persistence) and disconnects. Notes what the first start
     * would create. Leaves the publisher unstarted.
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
            String durability = streamSetup.durabilityProblem(config);
            if (durability != null) {
                notes.add(name + ": " + durability);
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
     * Replaces a lost connection with a fresh one; called on the sending thread before publishing. Returns
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
        if (nc != null && jetStream != null && inbox != null && nc.getStatus() != Connection.Status.CLOSED) {
            return nc;
        }
        if (nc != null) {
            connector.closeQuietly(nc);
        }
        closeInbox();
        connection = null;
        jetStream = null;
        try {
            nc = connector.connect();
            connection = nc;
            jetStream = nc.jetStream();
            inbox = openInbox(nc);
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

    /** See {@link StoredEvents}; called on the sending thread before the first send and before each resend. */
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
        PubAckInbox replies = java.util.Objects.requireNonNull(inbox);
        if (atomic) {
            atomicPublish.publish(sending, nc, js, replies);
        } else {
            eventByEvent.publish(sending, replies);
        }
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
        } catch (IOException | IllegalStateException e) {
            // IllegalStateException: jnats refuses the request because the connection closed since the status
            // check (a server stopping right after the reconnect). Not a verdict on the stream: the batch goes
            // on, fails as retryable with the connection, and the stream is checked again after the next one.
            return true;
        } catch (DeltaforgeException e) {
            acks.completeExceptionally(e);
            return false;
        }
    }

    private PubAckInbox openInbox(Connection nc) {
        return PubAckInbox.open(nc, settings.maxInFlight(), settings.sendTimeout());
    }

    /** Fails the publishes still waiting on the inbox of a connection that is gone. */
    private void closeInbox() {
        PubAckInbox replies = inbox;
        inbox = null;
        if (replies != null) {
            replies.close();
        }
    }

    /** Called by the deadline sweeper: fails the publishes of this connection whose PubAck is overdue. */
    private void expireReplies() {
        PubAckInbox replies = inbox;
        if (replies != null) {
            replies.expire(System.nanoTime());
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
        awaitAnswers();
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
                // Drain flushes what is queued, delivers the replies already received and closes.
                nc.drain(CLOSE_WAIT).get(CLOSE_WAIT.toMillis() + 1000, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.debug("{}: drain did not finish cleanly: {}", name, e.toString());
        } finally {
            connector.closeQuietly(nc);
            closeInbox();
        }
    }

    /**
     * A graceful close confirms what it can: the drain unsubscribes the reply inbox, so a PubAck still on its
     * way would be lost and its publish failed. Waits (the deadline sweeper still failing overdue ones) until
     * every publish is answered, at most {@link #CLOSE_WAIT}.
     */
    private void awaitAnswers() {
        if (!isConnected()) {
            return;
        }
        try {
            if (!window.awaitIdle(CLOSE_WAIT)) {
                log.debug("{}: closing with publishes still waiting for their PubAcks", name);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
