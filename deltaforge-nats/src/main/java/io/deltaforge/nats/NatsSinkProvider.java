package io.deltaforge.nats;

import io.deltaforge.api.ConfigException.Problem;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.Sink;
import io.deltaforge.spi.SinkProvider;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Makes a {@link NatsSink} from a {@code type: nats} sink section; every key is described in
 * {@code docs/nats-sink.md}.
 *
 * <pre>{@code
 * sinks:
 *   - type: nats
 *     config:
 *       id: users-nats
 *       url: nats://127.0.0.1:4222     # or several: a list, or comma separated
 *       subject: users.events.{table}  # {schema} {table} {op} {tenant}
 *       stream: USERS
 *       create_stream: true            # optional, default false
 *       stream_config: {storage: file, replicas: 1, duplicate_window_secs: 120, max_age_secs: 0}
 *       send_timeout_secs: 5           # optional, default 5
 *       batch_timeout_secs: 30         # optional, default 30
 *       max_in_flight: 4096            # optional
 *       max_in_flight_bytes: 67108864  # optional
 *       credentials_file: /etc/nats/app.creds   # or nkey_seed_file, username + password, or token
 *       tls: {ca_file: /etc/nats/ca.pem}         # or tls: true for system trust
 *       headers: { x-team: identity }  # optional static headers
 *       dead_letter_subject: users.dead          # optional
 *       transaction_subject: users.transaction   # optional; default: subject's literal prefix + .transaction
 *       expected_restart_secs: 120     # optional
 *       atomic_transactions: auto      # optional: auto, on or off
 *       oversize: split                # optional: split or fail (transactions over 1,000 events)
 * }</pre>
 *
 * <p>The pipeline-level keys of a sink section ({@code envelope}, {@code encoding}, {@code required}) are
 * handled by the loader and never reach this provider. {@code {tenant}} is the pipeline's
 * {@code metadata.tenant}.
 */
public final class NatsSinkProvider implements SinkProvider {
    public NatsSinkProvider() {
    }

    @Override
    public String type() {
        return "nats";
    }

    /**
     * The {@code url} key: one URL, several separated by commas, or a list of URLs (a cluster's nodes), as the
     * builder's comma-separated form; null when absent.
     */
    static @Nullable String url(ProviderConfig config) {
        if (config.raw("url") instanceof List<?>) {
            List<String> urls = config.stringList("url");
            if (urls.isEmpty()) {
                config.problem("url", "is an empty list; give at least one URL, e.g. [nats://a:4222, nats://b:4222]");
                return null;
            }
            return String.join(",", urls);
        }
        return config.string("url");
    }

    @Override
    public Sink create(ProviderConfig config) {
        NatsSink.Builder b = NatsSink.builder();
        b.id(config.string("id", "nats"));
        String url = url(config);
        if (url != null) {
            b.url(url);
        }
        String subject = config.string("subject");
        if (subject != null) {
            b.subject(subject);
        }
        String stream = config.string("stream");
        if (stream != null) {
            b.stream(stream);
        }
        b.tenant(config.pipeline().tenant());
        b.sendTimeout(config.seconds("send_timeout_secs", Duration.ofSeconds(5), 1, 3600));
        b.batchTimeout(config.seconds("batch_timeout_secs", Duration.ofSeconds(30), 1, 86_400));
        b.maxInFlight(config.integer("max_in_flight", 4096, 1, 1_000_000));
        b.maxInFlightBytes(config.number("max_in_flight_bytes", 64L * 1024 * 1024, 1024, Long.MAX_VALUE));
        b.expectedRestart(config.seconds("expected_restart_secs", Duration.ofSeconds(120), 0, 30L * 86_400));
        b.createStream(config.bool("create_stream", false));
        ProviderConfig streamConfig = config.section("stream_config");
        if (streamConfig != null) {
            if (streamConfig.has("subjects")) {
                b.streamSubjects(streamConfig.stringList("subjects"));
            }
            String storage = streamConfig.string("storage");
            if (storage != null) {
                b.streamStorage(storage.trim().toLowerCase(java.util.Locale.ROOT));
            }
            if (streamConfig.has("replicas")) {
                b.streamReplicas(streamConfig.integer("replicas", 1, 1, 5));
            }
            if (streamConfig.has("duplicate_window_secs")) {
                b.streamDuplicateWindow(streamConfig.seconds("duplicate_window_secs", Duration.ofSeconds(120), 1, 30L * 86_400));
            }
            if (streamConfig.has("max_age_secs")) {
                b.streamMaxAge(streamConfig.seconds("max_age_secs", Duration.ZERO, 0, Long.MAX_VALUE / 1_000_000_000L));
            }
            for (String unknown : streamConfig.unknownKeys()) {
                streamConfig.problem(unknown, "unknown key; known keys: subjects, storage, replicas, duplicate_window_secs,"
                        + " max_age_secs");
            }
        }
        readAuthAndTls(config, b);
        String transactionSubject = config.string("transaction_subject");
        if (transactionSubject != null) {
            b.transactionSubject(transactionSubject);
        }
        String dlq = config.string("dead_letter_subject");
        if (dlq != null) {
            b.deadLetterSubject(dlq);
        }
        b.headers(headers(config));
        b.atomicTransactions(atomicMode(config));
        String oversize = config.string("oversize", "split").trim().toLowerCase(java.util.Locale.ROOT);
        if (!oversize.equals("split") && !oversize.equals("fail")) {
            config.problem("oversize", "'" + oversize + "' is not an option; expected split (a transaction of more than"
                    + " 1,000 events goes as consecutive atomic batches) or fail");
        }
        b.splitOversizeTransactions(!oversize.equals("fail"));
        for (Problem p : b.problems("")) {
            config.problem(p.path(), p.message());
        }
        config.throwIfInvalid();
        return b.build(config.path());
    }

    /** The authentication and TLS keys, shared by {@code nats} and {@code nats_kv}. */
    static void readAuthAndTls(ProviderConfig config, NatsSink.Builder b) {
        path(config, "credentials_file").ifPresent(b::credentialsFile);
        path(config, "nkey_seed_file").ifPresent(b::nkeySeedFile);
        String username = config.string("username");
        if (username != null) {
            b.username(username);
        }
        String password = config.string("password");
        if (password != null) {
            b.password(password);
        }
        String token = config.string("token");
        if (token != null) {
            b.token(token);
        }
        Object tls = config.raw("tls");
        if (tls instanceof Map<?, ?>) {
            ProviderConfig t = config.section("tls");
            if (t != null) {
                path(t, "ca_file").ifPresent(b::tlsCaFile);
                java.util.Optional<Path> cert = path(t, "cert_file");
                java.util.Optional<Path> key = path(t, "key_file");
                if (cert.isPresent() && key.isPresent()) {
                    b.tlsClientCertificate(cert.get(), key.get());
                } else if (cert.isPresent() != key.isPresent()) {
                    t.problem(cert.isPresent() ? "key_file" : "cert_file", "is required together with "
                            + (cert.isPresent() ? "cert_file" : "key_file"));
                }
                b.tls(true);
                for (String unknown : t.unknownKeys()) {
                    t.problem(unknown, "unknown key; known keys: ca_file, cert_file, key_file");
                }
            }
        } else if (tls != null) {
            b.tls(config.bool("tls", false));
        }
    }

    /** YAML 1.1 reads a bare {@code on}/{@code off} as a boolean; both spellings mean the same here. */
    private static AtomicTransactions atomicMode(ProviderConfig config) {
        Object raw = config.raw("atomic_transactions");
        if (raw == null) {
            return AtomicTransactions.AUTO;
        }
        if (raw instanceof Boolean b) {
            return b ? AtomicTransactions.ON : AtomicTransactions.OFF;
        }
        switch (raw.toString().trim().toLowerCase(java.util.Locale.ROOT)) {
            case "auto":
                return AtomicTransactions.AUTO;
            case "on":
            case "true":
                return AtomicTransactions.ON;
            case "off":
            case "false":
                return AtomicTransactions.OFF;
            default:
                config.problem("atomic_transactions", "'" + raw + "' is not an option; expected auto (atomic when the"
                        + " server and stream allow it), on or off");
                return AtomicTransactions.AUTO;
        }
    }

    private static java.util.Optional<Path> path(ProviderConfig config, String key) {
        String value = config.string(key);
        if (value == null) {
            return java.util.Optional.empty();
        }
        try {
            return java.util.Optional.of(Path.of(value));
        } catch (InvalidPathException e) {
            config.problem(key, "'" + value + "' is not a valid path");
            return java.util.Optional.empty();
        }
    }

    private static Map<String, String> headers(ProviderConfig config) {
        Object raw = config.raw("headers");
        Map<String, String> headers = new LinkedHashMap<>();
        if (raw == null) {
            return headers;
        }
        if (!(raw instanceof Map<?, ?> map)) {
            config.problem("headers", "expected a mapping of header names to values, e.g. {x-team: identity}");
            return headers;
        }
        map.forEach((k, v) -> {
            if (v == null || v instanceof Map || v instanceof java.util.List) {
                config.problem("headers." + k, "expected a single text value");
            } else {
                headers.put(String.valueOf(k), String.valueOf(v));
            }
        });
        return headers;
    }
}
