package io.deltaforge.nats;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.ConfigException.Problem;
import io.deltaforge.api.Lsn;
import io.deltaforge.nats.internal.JetStreamPublisher;
import io.deltaforge.nats.internal.NatsSinkSettings;
import io.deltaforge.nats.internal.SubjectTemplate;
import io.deltaforge.nats.internal.Subjects;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Sink;
import io.nats.client.impl.Headers;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * Publishes events to a NATS JetStream stream, one NATS message per event, with the event id as
 * {@code Nats-Msg-Id} so that JetStream drops the copies a resend produces (within the stream's
 * duplicate window).
 *
 * <pre>{@code
 * Sink sink = NatsSink.builder()
 *         .id("users-nats")
 *         .url("nats://127.0.0.1:4222")
 *         .subject("users.events.{table}")  // {schema} {table} {op} {tenant}
 *         .stream("USERS")                  // must capture users.events.*
 *         .createStream(true)               // else it must already exist
 *         .build();
 * }</pre>
 *
 * <p>Subjects: a template's placeholders are filled per event ({@code .}, {@code *}, {@code >} and
 * whitespace in names become {@code _}). At start the stream must capture every subject the template can
 * produce: the template with each placeholder token as {@code *} ({@code users.events.*}) must be covered
 * by one of the stream's subject filters ({@code users.events.*}, {@code users.>}, ...).
 *
 * <p>Each message carries the message's own headers (for example CloudEvents {@code ce-*}), the static
 * {@link Builder#headers(Map) headers}, {@code Content-Type} (the envelope's) and {@code Nats-Msg-Id};
 * the body is the payload as is. At most {@link Builder#maxInFlight(int)} messages and
 * {@link Builder#maxInFlightBytes(long)} bytes wait for their acknowledgement at once; {@link #send(Batch)}
 * blocks while the window is full, which slows the pipeline down instead of buffering.
 *
 * <p>Failures: a missing acknowledgement within {@code sendTimeout}, a dropped connection (publishes
 * fail at once while disconnected, nothing is buffered) and server-side trouble that may pass fail the
 * batch with {@link io.deltaforge.api.RetryableException}; the engine resends it after a backoff, followed
 * by every later batch, in order. A lost connection is not resumed by jnats: the next {@code send} opens a
 * fresh one, so nothing queued on the old one can overtake the resends and the stream keeps log order; the
 * loss and the recovery are logged once each. An
 * event bigger than the server's {@code max_payload} or the stream's {@code max_msg_size} fails for good
 * naming its table and LSN, unless {@link Builder#deadLetterSubject(String)} is set: then a record of it
 * is published there in its place. A stream deleted after start, a subject taken by another stream, or a
 * publish the user has no permission for also fail for good.
 *
 * <p>Transactions: with {@link Builder#atomicTransactions(AtomicTransactions)} auto (the default) or on, and
 * nats-server 2.12 or newer with a stream that allows atomic publish, each transaction is stored as one
 * JetStream atomic batch (a transaction of more than 1,000 events as consecutive ones, atomic per part), so a
 * consumer never sees part of it; see {@code docs/nats-sink.md}.
 *
 * <p>Thread safety: called by one engine thread, as the {@link Sink} contract says; the counters may be
 * read from any thread.
 */
public final class NatsSink implements Sink {
    private final NatsSinkSettings settings;
    private final JetStreamPublisher publisher;

    NatsSink(NatsSinkSettings settings) {
        this.settings = settings;
        this.publisher = new JetStreamPublisher(settings);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String id() {
        return settings.id();
    }

    /**
     * Connects and checks that the stream exists and captures the subject. Throws a
     * {@link io.deltaforge.api.RetryableException} when no server can be reached (the server may be
     * starting), and a {@link io.deltaforge.api.DeltaforgeException} for a missing stream, a subject the
     * stream does not capture, or refused credentials.
     */
    @Override
    public void start() {
        publisher.start();
    }

    /** Connects and checks the stream as {@link #start()} would; creates nothing. */
    @Override
    public List<String> check() {
        return publisher.check();
    }

    /**
     * The ids of the source's events from {@code commitLsn} on that the stream holds, read back from the
     * stream's newest messages by the {@code DeltaForge-Origin} header each published message carries (source
     * id and commit LSN). Exact for any subject template and for streams other pipelines publish to as well;
     * after a purge or re-creation it finds only what is still there, so nothing unstored is skipped.
     */
    @Override
    public Set<String> storedSince(String sourceId, Lsn commitLsn) {
        return publisher.storedSince(sourceId, commitLsn);
    }

    /** True unless {@code atomic_transactions} is off: big transactions then reach the sink in whole parts. */
    @Override
    public boolean storesTransactionParts() {
        return settings.atomicTransactions() != AtomicTransactions.OFF;
    }

    /** Publishes the batch; see the class comment. Never throws; failures complete the stage. */
    /**
     * Publishes the batch; transaction markers ({@link Batch#markers()}) go to the {@code transaction_subject}
     * at their place among the events, in the same atomic batch as their transaction's first or last part
     * (see {@code docs/nats-sink.md}).
     */
    @Override
    public CompletionStage<Void> send(Batch batch) {
        return publisher.send(batch);
    }

    /** Flushes and closes the connection, waiting a few seconds at most. */
    @Override
    public void close() {
        publisher.close();
    }

    /**
     * Whether the connection is up now: false before start, after close, and after a connection loss
     * until the next {@link #send(Batch)} reconnects.
     */
    public boolean isConnected() {
        return publisher.isConnected();
    }

    /** Messages JetStream acknowledged, duplicates included. */
    public long published() {
        return publisher.published();
    }

    /** Acknowledgements that said "duplicate": a resent message JetStream already had, and dropped. */
    public long duplicates() {
        return publisher.duplicates();
    }

    /** Oversized events replaced by a record on the dead-letter subject. */
    public long deadLettered() {
        return publisher.deadLettered();
    }

    /** Payload bytes sent and not yet acknowledged. */
    public long bytesInFlight() {
        return publisher.bytesInFlight();
    }

    @Override
    public String toString() {
        return "NatsSink[" + settings + "]";
    }

    /** Whether each transaction goes as JetStream atomic batches (decided at start); false before it. */
    public boolean publishesAtomically() {
        return publisher.atomic();
    }

    /**
     * Configures a {@link NatsSink}. Setters reject null; {@link #build()} checks everything and reports
     * every problem at once in a {@link ConfigException}. Not thread-safe; use once.
     */
    public static final class Builder {
        private static final Set<String> SCHEMES = Set.of("nats", "tls", "opentls", "ws", "wss");

        private String id = "nats";
        private @Nullable String url;
        private @Nullable String subject;
        private @Nullable String stream;
        private @Nullable String tenant;
        private Duration sendTimeout = Duration.ofSeconds(5);
        private Duration batchTimeout = Duration.ofSeconds(30);
        private int maxInFlight = 4096;
        private long maxInFlightBytes = 64L * 1024 * 1024;
        private boolean createStream;
        private List<String> streamSubjects = List.of();
        private @Nullable String streamStorage;
        private @Nullable Integer streamReplicas;
        private @Nullable Duration streamDuplicateWindow;
        private @Nullable Duration streamMaxAge;
        private @Nullable Path credentialsFile;
        private @Nullable Path nkeySeedFile;
        private @Nullable String username;
        private @Nullable String password;
        private @Nullable String token;
        private boolean tls;
        private @Nullable Path tlsCaFile;
        private @Nullable Path tlsCertFile;
        private @Nullable Path tlsKeyFile;
        private Map<String, String> headers = Map.of();
        private @Nullable String deadLetterSubject;
        private Duration expectedRestart = Duration.ofSeconds(120);
        private AtomicTransactions atomicTransactions = AtomicTransactions.AUTO;
        private boolean splitOversize = true;
        private @Nullable String transactionSubject;

        private Builder() {
        }

        /** A short name for logs and errors; default {@code nats}. */
        public Builder id(String id) {
            this.id = Objects.requireNonNull(id, "id");
            return this;
        }

        /** The server URL, or several separated by commas: {@code nats://a:4222,nats://b:4222}. Required. */
        public Builder url(String url) {
            this.url = Objects.requireNonNull(url, "url");
            return this;
        }

        /**
         * The subject to publish to, literal ({@code users.events}) or a template with {@code {schema}},
         * {@code {table}}, {@code {op}} and {@code {tenant}} ({@code users.events.{table}}). Required.
         */
        public Builder subject(String subject) {
            this.subject = Objects.requireNonNull(subject, "subject");
            return this;
        }

        /** The JetStream stream that must capture the subject. Required. */
        public Builder stream(String stream) {
            this.stream = Objects.requireNonNull(stream, "stream");
            return this;
        }

        /** The value of {@code {tenant}} in the subject; null (the default) when the pipeline has none. */
        public Builder tenant(@Nullable String tenant) {
            this.tenant = tenant;
            return this;
        }

        /** How long one publish may wait for its acknowledgement; default 5 s. */
        public Builder sendTimeout(Duration sendTimeout) {
            this.sendTimeout = Objects.requireNonNull(sendTimeout, "sendTimeout");
            return this;
        }

        /** How long a whole batch may take, waiting for window room included; default 30 s. */
        public Builder batchTimeout(Duration batchTimeout) {
            this.batchTimeout = Objects.requireNonNull(batchTimeout, "batchTimeout");
            return this;
        }

        /** How many messages may wait for an acknowledgement at once; default 4096. */
        public Builder maxInFlight(int maxInFlight) {
            this.maxInFlight = maxInFlight;
            return this;
        }

        /**
         * How many payload bytes may wait for an acknowledgement at once; default 64 MiB. A single message
         * bigger than this still goes, alone.
         */
        public Builder maxInFlightBytes(long maxInFlightBytes) {
            this.maxInFlightBytes = maxInFlightBytes;
            return this;
        }

        /** Create the stream at start when it is missing (default false: it must exist). */
        public Builder createStream(boolean createStream) {
            this.createStream = createStream;
            return this;
        }

        /** Subjects of a created stream; default: the subject with each placeholder token as {@code *}. */
        public Builder streamSubjects(List<String> subjects) {
            this.streamSubjects = List.copyOf(Objects.requireNonNull(subjects, "subjects"));
            return this;
        }

        /** {@code file} (default when creating) or {@code memory}. */
        public Builder streamStorage(String storage) {
            this.streamStorage = Objects.requireNonNull(storage, "storage");
            return this;
        }

        /** Replicas of a created stream; default 1. */
        public Builder streamReplicas(int replicas) {
            this.streamReplicas = replicas;
            return this;
        }

        /** Duplicate window of a created stream; default {@link #expectedRestart(Duration)}. */
        public Builder streamDuplicateWindow(Duration window) {
            this.streamDuplicateWindow = Objects.requireNonNull(window, "window");
            return this;
        }

        /** Maximum message age of a created stream; default zero (keep forever). */
        public Builder streamMaxAge(Duration maxAge) {
            this.streamMaxAge = Objects.requireNonNull(maxAge, "maxAge");
            return this;
        }

        /** A NATS {@code .creds} file (JWT + NKey seed). */
        public Builder credentialsFile(Path credentialsFile) {
            this.credentialsFile = Objects.requireNonNull(credentialsFile, "credentialsFile");
            return this;
        }

        /** A file holding an NKey user seed ({@code SU...}); the seed is never logged. */
        public Builder nkeySeedFile(Path nkeySeedFile) {
            this.nkeySeedFile = Objects.requireNonNull(nkeySeedFile, "nkeySeedFile");
            return this;
        }

        public Builder username(String username) {
            this.username = Objects.requireNonNull(username, "username");
            return this;
        }

        /** The password for {@link #username(String)}; never logged. */
        public Builder password(String password) {
            this.password = Objects.requireNonNull(password, "password");
            return this;
        }

        /** An auth token; never logged. */
        public Builder token(String token) {
            this.token = Objects.requireNonNull(token, "token");
            return this;
        }

        /** TLS with the JVM's default trust (system trust); implied by any other tls setting. */
        public Builder tls(boolean tls) {
            this.tls = tls;
            return this;
        }

        /** PEM CA certificates to trust instead of the JVM's default store; turns TLS on. */
        public Builder tlsCaFile(Path caFile) {
            this.tlsCaFile = Objects.requireNonNull(caFile, "caFile");
            return this;
        }

        /** A PEM client certificate and its unencrypted PKCS#8 PEM key, for servers that verify clients. */
        public Builder tlsClientCertificate(Path certFile, Path keyFile) {
            this.tlsCertFile = Objects.requireNonNull(certFile, "certFile");
            this.tlsKeyFile = Objects.requireNonNull(keyFile, "keyFile");
            return this;
        }

        /** Static headers added to every message; a message's own headers win on the same name. */
        public Builder headers(Map<String, String> headers) {
            Objects.requireNonNull(headers, "headers");
            this.headers = new LinkedHashMap<>(headers);
            return this;
        }

        /**
         * Opt-in: an event too big to publish is replaced by a small JSON record of it (id, table, op, LSNs,
         * size, limit) on this literal subject, and the pipeline goes on. Default: such an event fails the
         * pipeline. Either way a warning is logged; nothing is dropped silently.
         */
        public Builder deadLetterSubject(String deadLetterSubject) {
            this.deadLetterSubject = Objects.requireNonNull(deadLetterSubject, "deadLetterSubject");
            return this;
        }

        /**
         * The duplicate window of a created stream unless {@link #streamDuplicateWindow} sets one. No restart
         * or outage depends on it: the sink asks the stream what it holds before every resend and at start,
         * and the window only has to outlast a publish still on its way (start warns when it is shorter than
         * twice the batch timeout). Default 120 s.
         */
        public Builder expectedRestart(Duration expectedRestart) {
            this.expectedRestart = Objects.requireNonNull(expectedRestart, "expectedRestart");
            return this;
        }

        /**
         * Whether each source transaction is published as one JetStream atomic batch, so that a consumer never
         * sees part of it; default {@link AtomicTransactions#AUTO}.
         */
        public Builder atomicTransactions(AtomicTransactions atomicTransactions) {
            this.atomicTransactions = Objects.requireNonNull(atomicTransactions, "atomicTransactions");
            return this;
        }

        /**
         * With atomic transactions, what a transaction of more than 1,000 events (JetStream's limit for one
         * atomic batch) does: true (the default) publishes it as consecutive atomic batches of up to 1,000 events,
         * atomic per part only; false fails the pipeline naming the transaction.
         */
        public Builder splitOversizeTransactions(boolean split) {
            this.splitOversize = split;
            return this;
        }

        /**
         * The literal subject of transaction markers: the BEGIN and END events of each transaction that an
         * envelope writes ({@code debezium} with {@code provide_transaction_metadata}). Default: the subject
         * template's leading literal tokens and {@code transaction}, as Debezium names its transaction topic
         * ({@code cdc.{schema}.{table}} gives {@code cdc.transaction}). A created stream captures it; an existing
         * one must, or a batch with markers fails (start logs it at INFO and {@code check} notes it).
         */
        public Builder transactionSubject(String transactionSubject) {
            this.transactionSubject = Objects.requireNonNull(transactionSubject, "transactionSubject");
            return this;
        }

        /**
         * Checks the settings and makes the sink (not yet connected).
         *
         * @throws ConfigException listing every problem, each under {@code sink.nats.<key>}
         */
        public NatsSink build() {
            return build("sink.nats");
        }

        /** As {@link #build()}, with problems reported under {@code path}. */
        NatsSink build(String path) {
            return new NatsSink(settings(path));
        }

        /** The checked settings; also the connection settings of a {@link NatsKvSink}. */
        NatsSinkSettings settings(String path) {
            List<Problem> problems = problems(path);
            if (!problems.isEmpty()) {
                throw new ConfigException(problems);
            }
            SubjectTemplate template = SubjectTemplate.parse(Objects.requireNonNull(subject), tenant, new ArrayList<>());
            NatsSinkSettings.Tls tlsSettings = tls || tlsCaFile != null || tlsCertFile != null
                    ? new NatsSinkSettings.Tls(tlsCaFile, tlsCertFile, tlsKeyFile) : null;
            return new NatsSinkSettings(id, servers(), template, Objects.requireNonNull(stream),
                    sendTimeout, batchTimeout, maxInFlight, maxInFlightBytes, createStream,
                    new NatsSinkSettings.StreamSpec(streamSubjects, streamStorage, streamReplicas,
                            streamDuplicateWindow, streamMaxAge),
                    new NatsSinkSettings.Auth(credentialsFile, nkeySeedFile, username, password, token),
                    tlsSettings, headers, deadLetterSubject, expectedRestart,
                    atomicTransactions, splitOversize,
                    transactionSubject != null ? transactionSubject : template.transactionSubject());
        }

        /** Every problem with the settings; keys are the YAML keys. */
        List<Problem> problems(String path) {
            List<Problem> problems = new ArrayList<>();
            String prefix = path.isEmpty() ? "" : path + ".";
            if (id.isBlank()) {
                problems.add(new Problem(prefix + "id", "must not be empty"));
            }
            if (url == null || url.isBlank()) {
                problems.add(new Problem(prefix + "url", "is required; e.g. nats://127.0.0.1:4222"));
            } else {
                for (String server : url.split(",")) {
                    String why = problemWithUrl(server.trim());
                    if (!why.isEmpty()) {
                        problems.add(new Problem(prefix + "url", why));
                    }
                }
            }
            if (subject == null) {
                problems.add(new Problem(prefix + "subject", "is required; e.g. users.events or users.events.{table}"));
            } else {
                List<String> why = new ArrayList<>();
                SubjectTemplate.parse(subject, tenant, why);
                why.forEach(w -> problems.add(new Problem(prefix + "subject", w)));
            }
            String why = stream == null ? "is required; e.g. USERS" : Subjects.problemWithStreamName(stream);
            if (!why.isEmpty()) {
                problems.add(new Problem(prefix + "stream", why));
            }
            if (sendTimeout.isNegative() || sendTimeout.isZero()) {
                problems.add(new Problem(prefix + "send_timeout_secs", sendTimeout + " must be positive"));
            }
            if (batchTimeout.isNegative() || batchTimeout.isZero()) {
                problems.add(new Problem(prefix + "batch_timeout_secs", batchTimeout + " must be positive"));
            } else if (batchTimeout.compareTo(sendTimeout) < 0) {
                problems.add(new Problem(prefix + "batch_timeout_secs", batchTimeout.toSeconds()
                        + " s is shorter than send_timeout_secs (" + sendTimeout.toSeconds()
                        + " s); a batch needs at least as long as one publish"));
            }
            if (maxInFlight < 1 || maxInFlight > 1_000_000) {
                problems.add(new Problem(prefix + "max_in_flight", maxInFlight + " is out of range; expected 1 to 1000000"));
            }
            if (maxInFlightBytes < 1024) {
                problems.add(new Problem(prefix + "max_in_flight_bytes", maxInFlightBytes
                        + " is too small; expected at least 1024 (default 67108864, 64 MiB)"));
            }
            if (expectedRestart.isNegative()) {
                problems.add(new Problem(prefix + "expected_restart_secs", expectedRestart + " must not be negative"));
            }
            streamProblems(prefix, problems);
            readable(prefix + "credentials_file", credentialsFile, "a NATS .creds file", problems);
            readable(prefix + "nkey_seed_file", nkeySeedFile, "a file holding an NKey user seed (SU...)", problems);
            readable(prefix + "tls.ca_file", tlsCaFile, "a PEM file of CA certificates", problems);
            readable(prefix + "tls.cert_file", tlsCertFile, "a PEM client certificate", problems);
            readable(prefix + "tls.key_file", tlsKeyFile, "a PEM private key", problems);
            if ((username == null) != (password == null)) {
                problems.add(new Problem(prefix + (username == null ? "username" : "password"),
                        "is required together with " + (username == null ? "password" : "username")));
            }
            int kinds = (credentialsFile != null ? 1 : 0) + (nkeySeedFile != null ? 1 : 0)
                    + (username != null ? 1 : 0) + (token != null ? 1 : 0);
            if (kinds > 1) {
                problems.add(new Problem(prefix + "credentials_file", "credentials_file, nkey_seed_file,"
                        + " username/password and token are alternatives; set only one"));
            }
            for (Map.Entry<String, String> h : headers.entrySet()) {
                String headerWhy = problemWithHeader(h.getKey(), h.getValue());
                if (!headerWhy.isEmpty()) {
                    problems.add(new Problem(prefix + "headers." + h.getKey(), headerWhy));
                }
            }
            if (transactionSubject != null) {
                String tx = Subjects.problemWithPublishSubject(transactionSubject);
                if (!tx.isEmpty()) {
                    problems.add(new Problem(prefix + "transaction_subject", tx));
                }
            }
            if (deadLetterSubject != null) {
                String dlq = Subjects.problemWithPublishSubject(deadLetterSubject);
                if (!dlq.isEmpty()) {
                    problems.add(new Problem(prefix + "dead_letter_subject", dlq));
                } else if (deadLetterSubject.contains("{")) {
                    problems.add(new Problem(prefix + "dead_letter_subject", "'" + deadLetterSubject
                            + "' has a placeholder; the dead-letter subject must be literal, e.g. users.dead"));
                }
            }
            return problems;
        }

        private void streamProblems(String prefix, List<Problem> problems) {
            String sc = prefix + "stream_config.";
            boolean anyStreamSetting = !streamSubjects.isEmpty() || streamStorage != null || streamReplicas != null
                    || streamDuplicateWindow != null || streamMaxAge != null;
            if (anyStreamSetting && !createStream) {
                problems.add(new Problem(prefix + "stream_config", "is only used with create_stream: true; set it,"
                        + " or remove stream_config (an existing stream is never changed)"));
            }
            for (String s : streamSubjects) {
                String w = Subjects.problemWithFilter(s);
                if (!w.isEmpty()) {
                    problems.add(new Problem(sc + "subjects", w));
                }
            }
            if (streamStorage != null && !streamStorage.equals("file") && !streamStorage.equals("memory")) {
                problems.add(new Problem(sc + "storage", "'" + streamStorage + "' is not a storage type; expected file or memory"));
            }
            if (streamReplicas != null && (streamReplicas < 1 || streamReplicas > 5)) {
                problems.add(new Problem(sc + "replicas", streamReplicas + " is out of range; expected 1 to 5"));
            }
            if (streamDuplicateWindow != null && (streamDuplicateWindow.isNegative() || streamDuplicateWindow.isZero())) {
                problems.add(new Problem(sc + "duplicate_window_secs", "must be positive"));
            }
            if (streamMaxAge != null && streamMaxAge.isNegative()) {
                problems.add(new Problem(sc + "max_age_secs", "must not be negative (0 keeps messages forever)"));
            }
        }

        private static void readable(String key, @Nullable Path file, String what, List<Problem> problems) {
            if (file != null && !Files.isReadable(file)) {
                problems.add(new Problem(key, "'" + file + "' is not a readable file; give the path of " + what));
            }
        }

        private List<String> servers() {
            List<String> servers = new ArrayList<>();
            for (String server : Objects.requireNonNull(url).split(",")) {
                String s = server.trim();
                servers.add(s.contains("://") ? s : "nats://" + s);
            }
            return servers;
        }

        private static String problemWithUrl(String server) {
            String shown = NatsSinkSettings.redact(server);
            if (server.isEmpty()) {
                return "has an empty entry; separate URLs with single commas";
            }
            if (!server.contains("://") && server.contains("/")) {
                return "'" + shown + "' is not a URI; expected nats://host:port";
            }
            String full = server.contains("://") ? server : "nats://" + server;
            try {
                URI uri = new URI(full);
                if (uri.getScheme() == null || !SCHEMES.contains(uri.getScheme().toLowerCase(Locale.ROOT))) {
                    return "'" + shown + "' has an unsupported scheme; expected nats://host:port (or tls, ws, wss)";
                }
                if (uri.getHost() == null) {
                    return "'" + shown + "' has no host; expected nats://host:port";
                }
                if (uri.getPath() != null && !uri.getPath().isEmpty() && !uri.getPath().equals("/")) {
                    return "'" + shown + "' has a path; expected nats://host:port";
                }
            } catch (URISyntaxException e) {
                return "'" + shown + "' is not a URI; expected nats://host:port";
            }
            return "";
        }

        private static String problemWithHeader(String name, String value) {
            if (name.regionMatches(true, 0, "Nats-", 0, 5) || name.equalsIgnoreCase("Content-Type")) {
                return "is set by the sink itself; choose another header name";
            }
            try {
                new Headers().put(name, value);
            } catch (IllegalArgumentException e) {
                return "is not a valid NATS header: " + e.getMessage();
            }
            return "";
        }
    }
}
