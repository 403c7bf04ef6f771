package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.nats.client.AuthenticationException;
import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.ErrorListener;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.PublishOptions;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import io.nats.client.impl.Headers;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
    private static final Duration MIN_DUPLICATE_WINDOW = Duration.ofMinutes(2);
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);
    private static final long NONE = Long.MAX_VALUE;
    static final String CONTENT_TYPE = "Content-Type";

    private final NatsSinkSettings settings;
    private final String name;
    private final Semaphore window;
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    /** The lowest batch sequence that failed retryably and has not been sent again; NONE when none. */
    private final AtomicLong failedSequence = new AtomicLong(NONE);
    /** Set when JetStream stopped answering; the next send checks the stream before publishing. */
    private volatile boolean recheckStream;
    /** The size limits seen at start, for error messages. */
    private volatile String limits = "limits unknown";
    private volatile @Nullable Connection connection;
    private volatile boolean started;
    private volatile boolean closed;
    private volatile @Nullable JetStream jetStream;

    public JetStreamPublisher(NatsSinkSettings settings) {
        this.settings = settings;
        this.name = "sink " + settings.id();
        this.window = new Semaphore(settings.maxInFlight());
    }

    public long published() {
        return published.get();
    }

    public long duplicates() {
        return duplicates.get();
    }

    public boolean isConnected() {
        Connection nc = connection;
        return nc != null && nc.getStatus() == Connection.Status.CONNECTED;
    }

    /** Free places in the in-flight window, for metrics and tests. */
    public int availableWindow() {
        return window.availablePermits();
    }

    // ---- start ---------------------------------------------------------------------------------------

    public void start() {
        if (started) {
            throw new IllegalStateException(name + " was already started");
        }
        started = true;
        Connection nc = connect();
        connection = nc;
        try {
            checkStream(nc.jetStreamManagement(), true);
            jetStream = nc.jetStream();
        } catch (IOException e) {
            connection = null;
            closeQuietly(nc);
            throw new RetryableException(name + ": cannot reach JetStream on " + settings.redactedServers()
                    + " to check stream '" + settings.stream() + "': " + e.getMessage()
                    + "; is JetStream enabled (nats-server -js)?", e);
        } catch (RuntimeException e) {
            connection = null;
            closeQuietly(nc);
            throw e;
        }
    }

    /**
     * Replaces a lost connection with a fresh one; called on the sink thread before publishing. Returns
     * null (with the batch failed retryably) when no server answers yet: the engine backs off and resends.
     */
    private @Nullable JetStream connectedJetStream(Batch batch, CompletableFuture<Void> acks) {
        Connection nc = connection;
        JetStream js = jetStream;
        if (nc != null && js != null && nc.getStatus() != Connection.Status.CLOSED) {
            return js;
        }
        if (nc != null) {
            closeQuietly(nc);
        }
        connection = null;
        jetStream = null;
        try {
            nc = connect();
            connection = nc;
            jetStream = nc.jetStream();
            // The stream may have gone while we were away; a resend into nothing would only time out.
            recheckStream = true;
            return jetStream;
        } catch (IOException | RuntimeException e) {
            acks.completeExceptionally(e instanceof DeltaforgeException de ? de
                    : new RetryableException(name + ": cannot reconnect for batch " + batch.sequence() + ": " + e, e));
            return null;
        }
    }

    private Connection connect() {
        Options.Builder options = new Options.Builder()
                .servers(settings.servers().toArray(String[]::new))
                .connectionName("deltaforge-" + settings.id())
                // No reconnects inside jnats: a jnats reconnect keeps its outgoing queue and writes it to the
                // new socket, so messages queued before the loss would reach the stream ahead of the resend
                // of earlier messages that died in the old socket (seen in tests). Instead, a lost connection
                // is closed (dropping its queue, failing its pending acks) and the next send() opens a fresh
                // one; what the server got over the old TCP stream is a prefix of our publishes, and the
                // engine's in-order resends follow it, so the stream keeps log order.
                .maxReconnects(0)
                // Publishes made while disconnected fail at once instead of being buffered (8 MB by
                // default in jnats): NatsConnection.publishInternal throws IllegalStateException("Unable to
                // queue any more messages during reconnect") when the buffer is 0, and the batch fails as
                // retryable.
                .reconnectBufferSize(0)
                .connectionTimeout(Duration.ofMillis(Math.min(settings.sendTimeout().toMillis(), 5000)))
                // Also the default timeout of jnats' own request futures: abandoned ones are cleaned up
                // around the time our own per-publish timeout fires.
                .requestCleanupInterval(settings.sendTimeout())
                .useTimeoutException()
                .maxMessagesInOutgoingQueue(Math.max(Options.DEFAULT_MAX_MESSAGES_IN_OUTGOING_QUEUE,
                        settings.maxInFlight() + 1024))
                .connectionListener(new LoggingListener(name))
                .errorListener(new LoggingErrors(name));
        if (settings.credentialsFile() != null) {
            options.credentialPath(settings.credentialsFile().toString());
        }
        if (settings.username() != null && settings.password() != null) {
            options.userInfo(settings.username().toCharArray(), settings.password().toCharArray());
        }
        if (settings.token() != null) {
            options.token(settings.token().toCharArray());
        }
        Options built;
        try {
            built = options.build();
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new DeltaforgeException(name + ": invalid NATS connection options for "
                    + settings.redactedServers() + ": " + e.getMessage(), e);
        }
        try {
            return Nats.connect(built);
        } catch (AuthenticationException e) {
            throw new DeltaforgeException(name + ": the NATS server at " + settings.redactedServers()
                    + " refused our credentials (" + settings.authKind() + "): " + e.getMessage()
                    + "; check credentials_file, username/password or token", e);
        } catch (IOException e) {
            throw new RetryableException(name + ": cannot connect to NATS at " + settings.redactedServers() + ": "
                    + e.getMessage() + "; is nats-server running and reachable?", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RetryableException(name + ": interrupted while connecting to NATS", e);
        }
    }

    /**
     * Checks that the stream exists and captures our subject; at start also reports its duplicate window.
     * Throws DeltaforgeException when the stream is unusable, IOException when JetStream did not answer.
     */
    private void checkStream(JetStreamManagement jsm, boolean atStart) throws IOException {
        StreamInfo info;
        try {
            info = jsm.getStreamInfo(settings.stream());
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() == Failures.STREAM_NOT_FOUND || e.getErrorCode() == 404) {
                throw new DeltaforgeException(name + ": stream '" + settings.stream() + "' does not exist; create it"
                        + " with subjects covering '" + settings.subject() + "' (e.g. nats stream add "
                        + settings.stream() + " --subjects '" + suggestedFilter() + "')", e);
            }
            if (e.getErrorCode() == 503) {
                throw new IOException("JetStream is not available: " + e.getErrorDescription(), e);
            }
            throw new DeltaforgeException(name + ": cannot read stream '" + settings.stream() + "': "
                    + e.getErrorDescription() + " (err_code " + e.getApiErrorCode() + ")", e);
        }
        StreamConfiguration config = info.getConfiguration();
        Connection nc = connection;
        limits = "stream max_msg_size " + (config.getMaximumMessageSize() < 0 ? "unlimited" : config.getMaximumMessageSize() + " bytes")
                + (nc == null ? "" : ", server max_payload " + nc.getServerInfo().getMaxPayload() + " bytes");
        List<String> subjects = config.getSubjects();
        if (subjects.stream().noneMatch(f -> Subjects.matches(f, settings.subject()))) {
            throw new DeltaforgeException(name + ": stream '" + settings.stream() + "' does not capture subject '"
                    + settings.subject() + "'; its subjects are " + subjects + ". Add a covering subject (e.g. nats"
                    + " stream edit " + settings.stream() + " --subjects '" + suggestedFilter()
                    + "') or set subject to one the stream captures");
        }
        if (!atStart) {
            return;
        }
        Duration window = config.getDuplicateWindow();
        if (window == null || window.compareTo(MIN_DUPLICATE_WINDOW) < 0) {
            log.warn("{}: stream '{}' has a duplicate window of {}; events replayed after an outage or restart"
                            + " longer than that will be stored twice. Consider at least 2 minutes"
                            + " (nats stream edit {} --dupe-window 2m)",
                    name, settings.stream(), window, settings.stream());
        } else {
            log.info("{}: stream '{}' captures '{}' (subjects {}), duplicate window {}", name, settings.stream(),
                    settings.subject(), subjects, window);
        }
    }

    private String suggestedFilter() {
        String subject = settings.subject();
        int dot = subject.indexOf('.');
        return dot < 0 ? subject : subject.substring(0, dot) + ".>";
    }

    // ---- send ----------------------------------------------------------------------------------------

    /** Publishes the batch; never throws. See NatsSink for the contract. */
    public CompletionStage<Void> send(Batch batch) {
        CompletableFuture<Void> acks = new CompletableFuture<>();
        CompletableFuture<Void> result = new CompletableFuture<>();
        acks.orTimeout(settings.batchTimeout().toNanos(), TimeUnit.NANOSECONDS).whenComplete((ok, error) -> {
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
            if (cause instanceof RetryableException) {
                failedSequence.accumulateAndGet(batch.sequence(), Math::min);
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

    private void publishAll(Batch batch, CompletableFuture<Void> acks) {
        if (!started || closed) {
            acks.completeExceptionally(new IllegalStateException(name + ": send() before start() or after close()"));
            return;
        }
        if (!mayGoAhead(batch, acks)) {
            return;
        }
        JetStream js = connectedJetStream(batch, acks);
        if (js == null || !streamStillUsable(acks)) {
            return;
        }
        long deadline = System.nanoTime() + settings.batchTimeout().toNanos();
        // One extra count for the loop itself, so the batch cannot complete before every message was sent.
        AtomicInteger pending = new AtomicInteger(1);
        List<ChangeEvent> events = batch.events();
        List<Message> messages = batch.messages();
        for (int i = 0; i < messages.size() && !acks.isDone(); i++) {
            ChangeEvent event = events.get(i);
            Message message = messages.get(i);
            if (!acquire(deadline, batch, acks)) {
                return;
            }
            CompletableFuture<PublishAck> ack;
            try {
                ack = js.publishAsync(settings.subject(), headersFor(message), message.payload(),
                        PublishOptions.builder().messageId(message.id()).expectedStream(settings.stream()).build());
            } catch (RuntimeException e) {
                window.release();
                // Stop at the first refusal: later messages must not overtake this one once it resends.
                acks.completeExceptionally(fail(event, message.payload().length, e));
                return;
            }
            pending.incrementAndGet();
            int size = message.payload().length;
            ack.orTimeout(settings.sendTimeout().toNanos(), TimeUnit.NANOSECONDS).whenComplete((pa, error) -> {
                window.release();
                if (error != null) {
                    acks.completeExceptionally(fail(event, size, error));
                    return;
                }
                published.incrementAndGet();
                if (pa.isDuplicate()) {
                    duplicates.incrementAndGet();
                }
                if (pending.decrementAndGet() == 0) {
                    acks.complete(null);
                }
            });
        }
        if (pending.decrementAndGet() == 0) {
            acks.complete(null);
        }
    }

    /**
     * Keeps log order after a failure: while an earlier batch waits for its resend, later batches fail at
     * once (the engine resends them after it) instead of reaching the stream ahead of it.
     */
    private boolean mayGoAhead(Batch batch, CompletableFuture<Void> acks) {
        long failed = failedSequence.get();
        if (failed == NONE) {
            return true;
        }
        if (batch.sequence() > failed) {
            acks.completeExceptionally(new RetryableException(name + ": batch " + batch.sequence()
                    + " waits for batch " + failed + ", which failed and is resent first to keep log order"));
            return false;
        }
        failedSequence.compareAndSet(failed, NONE);
        return true;
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
            checkStream(nc.jetStreamManagement(), false);
            recheckStream = false;
            return true;
        } catch (IOException e) {
            return true;
        } catch (DeltaforgeException e) {
            acks.completeExceptionally(e);
            return false;
        }
    }

    private boolean acquire(long deadline, Batch batch, CompletableFuture<Void> acks) {
        try {
            long wait = deadline - System.nanoTime();
            if (wait > 0 && window.tryAcquire(wait, TimeUnit.NANOSECONDS)) {
                return true;
            }
            acks.completeExceptionally(new RetryableException(name + ": the in-flight window of "
                    + settings.maxInFlight() + " messages stayed full for the whole batch timeout ("
                    + settings.batchTimeout().toMillis() + " ms) while sending batch " + batch.sequence()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            acks.completeExceptionally(new RetryableException(name + ": interrupted while waiting for room in"
                    + " the in-flight window (batch " + batch.sequence() + ")", e));
        }
        return false;
    }

    private DeltaforgeException fail(ChangeEvent event, int payloadBytes, Throwable error) {
        DeltaforgeException e = Failures.classify(settings.id(), settings.stream(), settings.subject(),
                settings.sendTimeout(), limits, event, payloadBytes, error);
        if (e instanceof RetryableException && String.valueOf(e.getMessage()).contains("no JetStream responder")) {
            recheckStream = true;
        }
        return e;
    }

    private Headers headersFor(Message message) {
        Headers headers = new Headers();
        settings.headers().forEach(headers::put);
        message.headers().forEach(headers::put);
        headers.put(CONTENT_TYPE, message.contentType());
        return headers;
    }

    // ---- close ---------------------------------------------------------------------------------------

    public void close() {
        closed = true;
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
            closeQuietly(nc);
        }
    }

    private void closeQuietly(Connection nc) {
        try {
            nc.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.debug("{}: closing the connection failed: {}", name, e.toString());
        }
    }

    /** Logs connection changes; never prints URLs with user info. */
    private static final class LoggingListener implements ConnectionListener {
        private final String name;

        LoggingListener(String name) {
            this.name = name;
        }

        /** Required by the interface; jnats calls the detailed variant below. */
        @Override
        @SuppressWarnings("deprecation")
        public void connectionEvent(Connection conn, Events type) {
            connectionEvent(conn, type, null, conn.getConnectedUrl());
        }

        @Override
        public void connectionEvent(Connection conn, Events type, @Nullable Long time, @Nullable String uriDetails) {
            String url = NatsSinkSettings.redact(uriDetails);
            switch (type) {
                case CONNECTED -> log.info("{}: connected to {}", name, url);
                case DISCONNECTED -> {
                    if (uriDetails == null) {
                        log.debug("{}: a connection attempt failed", name);
                    } else {
                        log.info("{}: lost the connection to {}; unacknowledged batches will be resent over a new"
                                + " connection", name, url);
                    }
                }
                case RECONNECTED -> log.info("{}: reconnected to {}", name, url);
                case CLOSED -> log.info("{}: connection closed", name);
                case LAME_DUCK -> log.info("{}: server {} is entering lame duck mode", name, url);
                default -> log.debug("{}: connection event {}", name, type);
            }
        }
    }

    private static final class LoggingErrors implements ErrorListener {
        private final String name;

        LoggingErrors(String name) {
            this.name = name;
        }

        @Override
        public void errorOccurred(Connection conn, String error) {
            log.warn("{}: server reported: {}", name, error);
        }

        @Override
        public void exceptionOccurred(Connection conn, Exception exp) {
            log.debug("{}: connection exception: {}", name, exp.toString());
        }
    }
}
