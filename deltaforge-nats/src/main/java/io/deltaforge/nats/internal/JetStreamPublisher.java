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
import io.nats.client.api.PublishAck;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import io.nats.client.impl.Headers;
import io.nats.client.support.NatsJetStreamConstants;
import java.io.IOException;
import io.nats.client.api.StorageType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
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
    static final String CONTENT_TYPE = "Content-Type";

    private final NatsSinkSettings settings;
    private final String name;
    private final Semaphore window;
    private final ByteWindow bytesWindow;
    private final AtomicLong deadLettered = new AtomicLong();
    /** Set from the first connection loss until a new connection is up, so each is logged once. */
    private final AtomicBoolean outage = new AtomicBoolean();
    private final AtomicInteger failedConnects = new AtomicInteger();
    /** Permission errors the server reported, e.g. {@code Permissions Violation for Publish to "x"}. */
    private final java.util.Set<String> deniedSubjects = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** What jnats last reported through the error listener; a failed TLS handshake only shows up there. */
    private final java.util.concurrent.atomic.AtomicReference<@Nullable Exception> lastConnectionError =
            new java.util.concurrent.atomic.AtomicReference<>();
    /** The smallest size limit for one message (server max_payload, stream max_msg_size); 0: unknown. */
    private volatile long sizeLimit;
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    /** Set when JetStream stopped answering; the next send checks the stream before publishing. */
    private volatile boolean recheckStream;
    /** The size limits seen at start, for error messages. */
    private volatile String limits = "limits unknown";
    private volatile long streamMaxMsg = -1;
    private volatile @Nullable Connection connection;
    private volatile boolean started;
    private volatile boolean closed;
    private volatile @Nullable JetStream jetStream;
    /** Replaced whole and never mutated, so threads that race on it at most build it twice. */
    private volatile @Nullable HeaderTemplate streamTemplate;

    public JetStreamPublisher(NatsSinkSettings settings) {
        this.settings = settings;
        this.name = "sink " + settings.id();
        this.window = new Semaphore(settings.maxInFlight());
        this.bytesWindow = new ByteWindow(settings.maxInFlightBytes());
    }

    public long published() {
        return published.get();
    }

    public long duplicates() {
        return duplicates.get();
    }

    /** Events replaced by a dead-letter record because they were too big. */
    public long deadLettered() {
        return deadLettered.get();
    }

    /** Payload bytes waiting for acknowledgement now. */
    public long bytesInFlight() {
        return bytesWindow.inFlight();
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
        // Marked started only once it worked: the engine calls start() again after a passing failure.
        Connection nc = connect();
        connection = nc;
        try {
            checkStream(nc.jetStreamManagement(), true, null);
            jetStream = nc.jetStream();
            started = true;
        } catch (IOException e) {
            connection = null;
            closeQuietly(nc);
            throw jetStreamUnreachable(e);
        } catch (RuntimeException e) {
            connection = null;
            closeQuietly(nc);
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
        Connection nc = connect();
        connection = nc;
        try {
            List<String> notes = new ArrayList<>();
            checkStream(nc.jetStreamManagement(), true, notes);
            return notes;
        } catch (IOException e) {
            throw jetStreamUnreachable(e);
        } finally {
            connection = null;
            closeQuietly(nc);
        }
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
            limits(nc, null);
            // The stream may have gone while we were away; a resend into nothing would only time out.
            recheckStream = true;
            return jetStream;
        } catch (IOException | RuntimeException e) {
            int attempts = failedConnects.incrementAndGet();
            log.debug("{}: reconnect attempt {} failed: {}", name, attempts, e.toString());
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
                // Also the timeout of jnats' own request futures, which publishAsync makes: one that has no
                // PubAck after a send timeout fails (TimeoutException) at the next sweep, within two send
                // timeouts, and gives its window place back. The batch's own timer reports it sooner.
                .requestCleanupInterval(settings.sendTimeout())
                .useTimeoutException()
                .maxMessagesInOutgoingQueue(Math.max(Options.DEFAULT_MAX_MESSAGES_IN_OUTGOING_QUEUE,
                        settings.maxInFlight() + 1024))
                .connectionListener(new LoggingListener(name))
                .errorListener(new LoggingErrors(name));
        NatsSinkSettings.Auth auth = settings.auth();
        if (auth.credentialsFile() != null) {
            options.credentialPath(auth.credentialsFile().toString());
        }
        if (auth.nkeySeedFile() != null) {
            NKeySeedAuth nkey = new NKeySeedAuth(name, auth.nkeySeedFile());
            nkey.check();
            options.authHandler(nkey);
        }
        if (auth.username() != null && auth.password() != null) {
            options.userInfo(auth.username().toCharArray(), auth.password().toCharArray());
        }
        if (auth.token() != null) {
            options.token(auth.token().toCharArray());
        }
        NatsSinkSettings.Tls tls = settings.tls();
        if (tls != null) {
            if (tls.caFile() == null && tls.certFile() == null) {
                try {
                    options.sslContext(javax.net.ssl.SSLContext.getDefault());
                } catch (java.security.NoSuchAlgorithmException e) {
                    throw new DeltaforgeException(name + ": this JVM has no default TLS context: " + e.getMessage(), e);
                }
            } else {
                options.sslContext(TlsContexts.create(name, tls.caFile(), tls.certFile(), tls.keyFile()));
            }
        }
        Options built;
        try {
            built = options.build();
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new DeltaforgeException(name + ": invalid NATS connection options for "
                    + settings.redactedServers() + ": " + e.getMessage(), e);
        }
        lastConnectionError.set(null);
        try {
            return Nats.connect(built);
        } catch (AuthenticationException e) {
            throw new DeltaforgeException(name + ": the NATS server at " + settings.redactedServers()
                    + " refused our credentials (" + settings.authKind() + "): " + e.getMessage()
                    + "; check credentials_file, nkey_seed_file, username/password or token", e);
        } catch (IOException e) {
            Exception reported = lastConnectionError.get();
            Throwable tlsFailure = isTlsFailure(e) ? e : reported != null && isTlsFailure(reported) ? reported : null;
            if (tlsFailure != null) {
                throw new DeltaforgeException(name + ": TLS with the NATS server at " + settings.redactedServers()
                        + " failed: " + rootMessage(tlsFailure) + "; check tls (ca_file for a private CA; cert_file and"
                        + " key_file when the server verifies clients) and that the server has TLS enabled", e);
            }
            throw new RetryableException(name + ": cannot connect to NATS at " + settings.redactedServers() + ": "
                    + e.getMessage() + "; is nats-server running and reachable?", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RetryableException(name + ": interrupted while connecting to NATS", e);
        }
    }

    /**
     * Checks that the stream exists (creating it when configured to) and captures every subject the
     * template can produce; at start also compares the configured stream settings, checks the dead-letter
     * subject and reports the duplicate window. With {@code checkNotes} (a check that must change nothing), a
     * stream to be created is noted there instead. Throws DeltaforgeException when the stream is unusable,
     * IOException when JetStream did not answer.
     */
    private void checkStream(JetStreamManagement jsm, boolean atStart, @Nullable List<String> checkNotes)
            throws IOException {
        StreamInfo info;
        try {
            info = jsm.getStreamInfo(settings.stream());
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() == Failures.STREAM_NOT_FOUND || e.getErrorCode() == 404) {
                if (atStart && settings.createStream() && checkNotes != null) {
                    checkNotes.add(name + ": stream '" + settings.stream() + "' does not exist yet; the first start "
                            + "creates it (create_stream: true)");
                    return;
                }
                if (atStart && settings.createStream()) {
                    info = createStream(jsm);
                } else {
                    throw new DeltaforgeException(name + ": stream '" + settings.stream() + "' does not exist; create it"
                            + " with subjects covering '" + wanted() + "' (e.g. nats stream add "
                            + settings.stream() + " --subjects '" + suggestedFilter() + "') or set create_stream: true", e);
                }
            } else if (e.getErrorCode() == 503) {
                throw new IOException("JetStream is not available: " + e.getErrorDescription(), e);
            } else {
                throw new DeltaforgeException(name + ": cannot read stream '" + settings.stream() + "': "
                        + e.getErrorDescription() + " (err_code " + e.getApiErrorCode() + ")", e);
            }
        }
        StreamConfiguration config = info.getConfiguration();
        limits(connection, config);
        List<String> subjects = config.getSubjects();
        String pattern = wanted();
        if (subjects.stream().noneMatch(f -> Subjects.covers(f, pattern))) {
            throw new DeltaforgeException(name + ": stream '" + settings.stream() + "' does not capture subject"
                    + (settings.subject().hasPlaceholders() ? " template '" + settings.subject() + "' (every subject"
                    + " matching '" + pattern + "' must be captured by one of the stream's subjects)" : " '" + pattern + "'")
                    + "; its subjects are " + subjects + ". Add a covering subject (e.g. nats stream edit "
                    + settings.stream() + " --subjects '" + suggestedFilter() + "') or set subject to one the stream"
                    + " captures");
        }
        if (!atStart) {
            return;
        }
        compareWithConfigured(config);
        checkDeadLetterSubject(jsm);
        Duration window = config.getDuplicateWindow();
        if (window == null || window.compareTo(settings.expectedRestart()) < 0) {
            log.warn("{}: stream '{}' has a duplicate window of {}, shorter than expected_restart_secs ({} s);"
                            + " events replayed after an outage or restart longer than the window will be stored"
                            + " twice. Raise it (nats stream edit {} --dupe-window {}s) or lower expected_restart_secs",
                    name, settings.stream(), window, settings.expectedRestart().toSeconds(), settings.stream(),
                    settings.expectedRestart().toSeconds());
        } else {
            log.info("{}: stream '{}' captures '{}' (subjects {}), duplicate window {}", name, settings.stream(),
                    settings.subject(), subjects, window);
        }
    }

    /** The subjects the template can produce, as a pattern with {@code *} for placeholder tokens. */
    private String wanted() {
        return settings.subject().wildcard();
    }

    private StreamInfo createStream(JetStreamManagement jsm) throws IOException {
        NatsSinkSettings.StreamSpec spec = settings.streamSpec();
        List<String> subjects = spec.subjects().isEmpty() ? List.of(wanted()) : spec.subjects();
        StreamConfiguration.Builder b = StreamConfiguration.builder()
                .name(settings.stream())
                .subjects(subjects)
                .storageType("memory".equals(spec.storage()) ? StorageType.Memory : StorageType.File)
                .replicas(spec.replicas() == null ? 1 : spec.replicas())
                .duplicateWindow(spec.duplicateWindow() == null ? settings.expectedRestart() : spec.duplicateWindow());
        if (spec.maxAge() != null) {
            b.maxAge(spec.maxAge());
        }
        try {
            StreamInfo info = jsm.addStream(b.build());
            log.info("{}: created stream '{}' with subjects {}, {} storage, {} replica(s), duplicate window {}, max age {}",
                    name, settings.stream(), subjects, info.getConfiguration().getStorageType(),
                    info.getConfiguration().getReplicas(), info.getConfiguration().getDuplicateWindow(),
                    info.getConfiguration().getMaxAge());
            return info;
        } catch (JetStreamApiException e) {
            if (e.getErrorCode() == 503) {
                throw new IOException("JetStream is not available: " + e.getErrorDescription(), e);
            }
            throw new DeltaforgeException(name + ": cannot create stream '" + settings.stream() + "' with subjects "
                    + subjects + ": " + e.getErrorDescription() + " (err_code " + e.getApiErrorCode()
                    + "); another stream may already capture these subjects, or the account may lack JetStream", e);
        }
    }

    /** Reports every configured stream setting that the existing stream does not have; never changes it. */
    private void compareWithConfigured(StreamConfiguration actual) {
        if (!settings.createStream()) {
            return;
        }
        NatsSinkSettings.StreamSpec spec = settings.streamSpec();
        List<String> diffs = new ArrayList<>();
        if (!spec.subjects().isEmpty() && !new HashSet<>(spec.subjects()).equals(new HashSet<>(actual.getSubjects()))) {
            diffs.add("subjects " + actual.getSubjects() + " (configured " + spec.subjects() + ")");
        }
        if (spec.storage() != null && !actual.getStorageType().toString().equalsIgnoreCase(spec.storage())) {
            diffs.add("storage " + actual.getStorageType().toString().toLowerCase(java.util.Locale.ROOT)
                    + " (configured " + spec.storage() + ")");
        }
        if (spec.replicas() != null && actual.getReplicas() != spec.replicas()) {
            diffs.add("replicas " + actual.getReplicas() + " (configured " + spec.replicas() + ")");
        }
        if (spec.duplicateWindow() != null && !spec.duplicateWindow().equals(actual.getDuplicateWindow())) {
            diffs.add("duplicate_window " + actual.getDuplicateWindow().toSeconds() + " s (configured "
                    + spec.duplicateWindow().toSeconds() + " s)");
        }
        if (spec.maxAge() != null && !spec.maxAge().equals(actual.getMaxAge())) {
            diffs.add("max_age " + actual.getMaxAge().toSeconds() + " s (configured " + spec.maxAge().toSeconds() + " s)");
        }
        if (!diffs.isEmpty()) {
            throw new DeltaforgeException(name + ": stream '" + settings.stream() + "' exists with " + String.join(", ", diffs)
                    + "; DeltaForge never changes an existing stream: edit the stream (nats stream edit "
                    + settings.stream() + ") or make stream_config match it");
        }
    }

    private void checkDeadLetterSubject(JetStreamManagement jsm) throws IOException {
        String dlq = settings.deadLetterSubject();
        if (dlq == null) {
            return;
        }
        try {
            if (jsm.getStreamNames(dlq).isEmpty()) {
                throw new DeltaforgeException(name + ": no stream captures dead_letter_subject '" + dlq + "'; add it to"
                        + " a stream's subjects (e.g. to '" + settings.stream() + "') or choose a captured subject");
            }
        } catch (JetStreamApiException e) {
            throw new DeltaforgeException(name + ": cannot check dead_letter_subject '" + dlq + "': "
                    + e.getErrorDescription(), e);
        }
    }

    /** Records the size limits, for the pre-publish size check and for messages. */
    private void limits(@Nullable Connection nc, @Nullable StreamConfiguration config) {
        long maxPayload = nc == null ? 0 : nc.getServerInfo().getMaxPayload();
        long maxMsg = config == null ? -1 : config.getMaximumMessageSize();
        if (config != null) {
            limits = "stream max_msg_size " + (maxMsg < 0 ? "unlimited" : maxMsg + " bytes")
                    + (nc == null ? "" : ", server max_payload " + maxPayload + " bytes");
            streamMaxMsg = maxMsg;
        }
        long limit = maxPayload > 0 ? maxPayload : Long.MAX_VALUE;
        if (streamMaxMsg > 0) {
            limit = Math.min(limit, streamMaxMsg);
        }
        sizeLimit = limit == Long.MAX_VALUE ? 0 : limit;
    }

    private String suggestedFilter() {
        String subject = wanted();
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
        JetStream js = connectedJetStream(batch, acks);
        if (js == null || !streamStillUsable(acks)) {
            return;
        }
        long deadline = System.nanoTime() + settings.batchTimeout().toNanos();
        // One extra count for the loop itself, so the batch cannot complete before every message was sent.
        AtomicInteger pending = new AtomicInteger(1);
        List<ChangeEvent> events = batch.events();
        List<Message> messages = batch.messages();
        // Kept to name the oldest unacknowledged message if the batch's ack timer fires.
        CompletableFuture<?>[] inFlight = new CompletableFuture<?>[messages.size()];
        String[] subjects = new String[messages.size()];
        int[] sizes = new int[messages.size()];
        int count = 0;
        for (int i = 0; i < messages.size() && !acks.isDone(); i++) {
            ChangeEvent event = events.get(i);
            Message message = messages.get(i);
            String subject = settings.subject().render(event);
            // The dead-letter subject may belong to another stream: no stream expectation there.
            Headers headers = headersFor(message, !subject.equals(settings.deadLetterSubject()));
            byte[] body = message.payload();
            int size = body.length + headers.serializedLength();
            long limit = sizeLimit;
            if (limit > 0 && size > limit) {
                String dlq = settings.deadLetterSubject();
                String what = "event " + event.id() + " of " + event.table() + " (op " + event.op().code() + ", LSN "
                        + event.position().lsn() + ", commit LSN " + event.position().commitLsn() + ") is " + size
                        + " bytes with headers, more than the " + limit + " bytes NATS accepts (" + limits + ")";
                if (dlq == null) {
                    acks.completeExceptionally(new DeltaforgeException(name + ": " + what + "; raise max_payload"
                            + " (nats-server) or the stream's max_msg_size, or set dead_letter_subject to record such"
                            + " events instead of stopping"));
                    return;
                }
                log.warn("{}: {}; publishing its metadata to dead_letter_subject '{}' instead", name, what, dlq);
                subject = dlq;
                body = deadLetterRecord(event, subject, settings.subject().render(event), size, limit);
                headers = new Headers();
                headers.put(CONTENT_TYPE, "application/json");
                headers.put("DeltaForge-Dead-Letter", "too-large");
                headers.put(NatsJetStreamConstants.MSG_ID_HDR, message.id());
                size = body.length + headers.serializedLength();
                deadLettered.incrementAndGet();
            }
            if (!acquire(deadline, batch, acks, size)) {
                return;
            }
            CompletableFuture<PublishAck> ack;
            try {
                // The Nats-Msg-Id (and Nats-Expected-Stream) headers are in `headers` already: without
                // PublishOptions jnats sends them as they are instead of copying the headers to merge them.
                ack = js.publishAsync(subject, headers, body);
            } catch (RuntimeException e) {
                window.release();
                bytesWindow.release(size);
                // Stop at the first refusal: later messages must not overtake this one once it resends.
                acks.completeExceptionally(fail(event, subject, size, e));
                return;
            }
            pending.incrementAndGet();
            inFlight[i] = ack;
            subjects[i] = subject;
            sizes[i] = size;
            count = i + 1;
            int sent = size;
            String sentTo = subject;
            // No timer per message: jnats times out each request future itself (requestCleanupInterval),
            // which releases the window, and one timer per batch (below) bounds how long the batch waits.
            ack.whenComplete((pa, error) -> {
                window.release();
                bytesWindow.release(sent);
                if (error != null) {
                    acks.completeExceptionally(fail(event, sentTo, sent, error));
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
        } else if (!acks.isDone()) {
            armAckTimer(acks, events, inFlight, subjects, sizes, count);
        }
    }

    /**
     * One timer per batch instead of one per message: send_timeout after the batch's last publish, every
     * message of it should have its PubAck (each was published at or before that point). If one has not,
     * the batch fails retryably naming the oldest unacknowledged event, as a per-message timeout would
     * (at most one batch's publishing time later). A scheduled task per message cost about a sixth of the
     * jnats threads' profile samples (removal from the shared timer queue on cancel).
     *
     * <p>The task is not cancelled (that is the cost avoided), so it must not keep the batch alive for a
     * send timeout after it completed: it reaches the batch only through a holder that completion empties.
     */
    private void armAckTimer(CompletableFuture<Void> acks, List<ChangeEvent> events, CompletableFuture<?>[] inFlight,
                             String[] subjects, int[] sizes, int count) {
        AtomicReference<@Nullable Runnable> check = new AtomicReference<>(() -> {
            for (int i = 0; i < count; i++) {
                if (!inFlight[i].isDone()) {
                    acks.completeExceptionally(fail(events.get(i), subjects[i], sizes[i],
                            new TimeoutException("no PubAck within " + settings.sendTimeout().toMillis() + " ms")));
                    return;
                }
            }
        });
        acks.whenComplete((ok, error) -> check.set(null));
        CompletableFuture.delayedExecutor(settings.sendTimeout().toNanos(), TimeUnit.NANOSECONDS).execute(() -> {
            Runnable pending = check.getAndSet(null);
            if (pending != null && !acks.isDone()) {
                pending.run();
            }
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
            checkStream(nc.jetStreamManagement(), false, null);
            recheckStream = false;
            return true;
        } catch (IOException e) {
            return true;
        } catch (DeltaforgeException e) {
            acks.completeExceptionally(e);
            return false;
        }
    }

    private boolean acquire(long deadline, Batch batch, CompletableFuture<Void> acks, int bytes) {
        try {
            long wait = deadline - System.nanoTime();
            if (wait > 0 && window.tryAcquire(wait, TimeUnit.NANOSECONDS)) {
                if (bytesWindow.tryAcquire(bytes, deadline)) {
                    return true;
                }
                window.release();
            }
            acks.completeExceptionally(new RetryableException(name + ": the in-flight window of "
                    + settings.maxInFlight() + " messages / " + settings.maxInFlightBytes()
                    + " bytes stayed full for the whole batch timeout ("
                    + settings.batchTimeout().toMillis() + " ms) while sending batch " + batch.sequence()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            acks.completeExceptionally(new RetryableException(name + ": interrupted while waiting for room in"
                    + " the in-flight window (batch " + batch.sequence() + ")", e));
        }
        return false;
    }

    private boolean permissionDenied(String subject) {
        String quoted = "Publish to \"" + subject + "\"";
        for (String error : deniedSubjects) {
            if (error.contains(quoted)) {
                return true;
            }
        }
        return false;
    }

    /** What replaces an oversized event on the dead-letter subject: enough to find and replay it. */
    private byte[] deadLetterRecord(ChangeEvent event, String dlq, String subject, int size, long limit) {
        StringBuilder json = new StringBuilder(256).append('{');
        field(json, "id", event.id()).append(',');
        field(json, "source", event.sourceId()).append(',');
        field(json, "table", event.table().toString()).append(',');
        field(json, "op", event.op().code()).append(',');
        field(json, "lsn", event.position().lsn().toString()).append(',');
        field(json, "commit_lsn", event.position().commitLsn().toString()).append(',');
        json.append("\"index_in_tx\":").append(event.position().indexInTx()).append(',');
        json.append("\"txid\":").append(event.position().xid()).append(',');
        field(json, "subject", subject).append(',');
        json.append("\"size\":").append(size).append(',');
        json.append("\"limit\":").append(limit).append(',');
        field(json, "reason", "too large").append('}');
        return json.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static StringBuilder field(StringBuilder json, String key, String value) {
        json.append('"').append(key).append("\":\"");
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                json.append('\\').append(c);
            } else if (c < 0x20) {
                json.append(String.format("\\u%04x", (int) c));
            } else {
                json.append(c);
            }
        }
        return json.append('"');
    }

    private DeltaforgeException fail(ChangeEvent event, String subject, int payloadBytes, Throwable error) {
        DeltaforgeException e = Failures.classify(settings.id(), settings.stream(), subject,
                settings.sendTimeout(), limits, event, payloadBytes, error);
        if (e instanceof RetryableException && String.valueOf(e.getMessage()).contains("no JetStream responder")) {
            recheckStream = true;
        }
        if (e instanceof RetryableException && permissionDenied(subject)) {
            // The server refuses the publish with -ERR and never acknowledges it: a resend cannot help.
            return new DeltaforgeException(name + ": the NATS server does not allow this user to publish to '"
                    + subject + "' (Permissions Violation), so event " + event.id() + " of " + event.table()
                    + " cannot be delivered; grant publish permission for the sink's subjects", e);
        }
        return e;
    }

    /**
     * The headers of one publish: the configured ones, the message's own, its content type, and the
     * Nats-Msg-Id that JetStream de-duplicates by, plus Nats-Expected-Stream so that a subject captured by
     * another stream is refused rather than stored there.
     */
    private Headers headersFor(Message message, boolean expectStream) {
        Headers headers;
        if (expectStream && message.headers().isEmpty()) {
            // The headers every message of this content type shares, validated once: a copy is much cheaper
            // than jnats' per-put validation, which showed in profiles.
            HeaderTemplate t = streamTemplate;
            if (t == null || !t.contentType.equals(message.contentType())) {
                t = new HeaderTemplate(message.contentType(), new Headers(commonHeaders(message, true), true));
                streamTemplate = t;
            }
            headers = new Headers(t.headers);
        } else {
            headers = commonHeaders(message, expectStream);
        }
        headers.put(NatsJetStreamConstants.MSG_ID_HDR, message.id());
        return headers;
    }

    private Headers commonHeaders(Message message, boolean expectStream) {
        Headers headers = new Headers();
        if (!settings.headers().isEmpty()) {
            settings.headers().forEach(headers::put);
        }
        if (!message.headers().isEmpty()) {
            message.headers().forEach(headers::put);
        }
        headers.put(CONTENT_TYPE, message.contentType());
        if (expectStream) {
            headers.put(NatsJetStreamConstants.EXPECTED_STREAM_HDR, settings.stream());
        }
        return headers;
    }

    /** Read-only headers shared by the messages of one content type; only ever copied. */
    private record HeaderTemplate(String contentType, Headers headers) {
    }

    private static boolean isTlsFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof javax.net.ssl.SSLException || t instanceof java.security.cert.CertificateException) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + ": " + t.getMessage();
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
    private final class LoggingListener implements ConnectionListener {
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
                case CONNECTED -> {
                    if (outage.compareAndSet(true, false)) {
                        log.info("{}: connected again to {} after {} failed attempt(s); resending from the first"
                                + " unacknowledged batch", name, url, failedConnects.getAndSet(0));
                    } else {
                        log.info("{}: connected to {}", name, url);
                    }
                }
                case DISCONNECTED -> {
                    if (uriDetails == null) {
                        log.debug("{}: a connection attempt failed", name);
                    } else if (!closed && outage.compareAndSet(false, true)) {
                        log.warn("{}: lost the connection to {}; unacknowledged batches will be resent over a new"
                                + " connection once the server answers (further attempts are logged at debug)", name, url);
                    } else {
                        log.debug("{}: disconnected from {}", name, url);
                    }
                }
                case RECONNECTED -> log.info("{}: reconnected to {}", name, url);
                case CLOSED -> log.debug("{}: connection closed", name);
                case LAME_DUCK -> log.info("{}: server {} is entering lame duck mode", name, url);
                default -> log.debug("{}: connection event {}", name, type);
            }
        }
    }

    private final class LoggingErrors implements ErrorListener {
        private final String name;

        LoggingErrors(String name) {
            this.name = name;
        }

        @Override
        public void errorOccurred(Connection conn, String error) {
            if (error.contains("Permissions Violation")) {
                deniedSubjects.add(error);
            }
            log.warn("{}: server reported: {}", name, error);
        }

        @Override
        public void exceptionOccurred(Connection conn, Exception exp) {
            lastConnectionError.set(exp);
            log.debug("{}: connection exception: {}", name, exp.toString());
        }
    }
}
