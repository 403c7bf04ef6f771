package io.deltaforge.nats.internal;

import io.deltaforge.nats.AtomicTransactions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The validated settings of one NATS sink; built by {@code NatsSink.Builder}, which checks every field.
 * {@link #toString()} leaves secrets out.
 *
 * @param servers            server URLs, each with a scheme, never empty
 * @param subject            the subject template
 * @param maxInFlight        unacknowledged messages at most
 * @param maxInFlightBytes   unacknowledged payload bytes at most
 * @param createStream       create the stream when it is missing
 * @param streamSpec         the stream's wanted settings: used when creating it, and checked against an
 *                           existing stream for the ones set explicitly
 * @param auth               how to authenticate
 * @param tls                TLS settings, null for none (unless a {@code tls://} URL asks for it)
 * @param headers            static headers added to every message, in order
 * @param deadLetterSubject  where oversized events' metadata goes instead of failing; null: fail
 * @param expectedRestart    the duplicate window of a created stream, unless its spec sets one
 * @param atomicTransactions whether each transaction is published as JetStream atomic batches
 * @param splitOversize      a transaction of more than 1,000 events goes as consecutive atomic batches
 *                           (true) or fails the pipeline (false)
 * @param transactionSubject where transaction markers (Debezium's BEGIN and END events) are published
 */
public record NatsSinkSettings(String id, List<String> servers, SubjectTemplate subject, String stream,
                               Duration sendTimeout, Duration batchTimeout, int maxInFlight, long maxInFlightBytes,
                               boolean createStream, StreamSpec streamSpec, Auth auth, @Nullable Tls tls,
                               Map<String, String> headers, @Nullable String deadLetterSubject,
                               Duration expectedRestart, AtomicTransactions atomicTransactions,
                               boolean splitOversize, String transactionSubject) {
    public NatsSinkSettings {
        servers = List.copyOf(servers);
        headers = Map.copyOf(headers);
    }

    /**
     * Authentication; at most one kind is set.
     *
     * @param credentialsFile a {@code .creds} file (JWT + seed)
     * @param nkeySeedFile    a file holding an NKey user seed
     * @param username        set together with {@code password}
     * @param password        a secret
     * @param token           a secret
     */
    public record Auth(@Nullable Path credentialsFile, @Nullable Path nkeySeedFile, @Nullable String username,
                       @Nullable String password, @Nullable String token) {
        public static final Auth NONE = new Auth(null, null, null, null, null);

        /** Which kind is configured, for logs; never the secret. */
        public String kind() {
            if (credentialsFile != null) {
                return "credentials file";
            }
            if (nkeySeedFile != null) {
                return "nkey seed file";
            }
            if (username != null) {
                return "user/password";
            }
            if (token != null) {
                return "token";
            }
            return "none (or in the URL)";
        }
    }

    /**
     * TLS: with no files, the JVM's default trust store (system trust).
     *
     * @param caFile   PEM CA certificates to trust instead of the default store; null: default
     * @param certFile PEM client certificate chain; set together with {@code keyFile}
     * @param keyFile  PEM PKCS#8 private key of the client certificate
     */
    public record Tls(@Nullable Path caFile, @Nullable Path certFile, @Nullable Path keyFile) {
    }

    /**
     * Wanted stream settings; null/empty members were not configured.
     *
     * @param subjects        subject filters; empty: the subject template with placeholders as {@code *}
     * @param storage         {@code file} or {@code memory}
     * @param replicas        replica count
     * @param duplicateWindow JetStream's de-duplication window
     * @param maxAge          how long messages are kept; zero: forever
     */
    public record StreamSpec(List<String> subjects, @Nullable String storage, @Nullable Integer replicas,
                             @Nullable Duration duplicateWindow, @Nullable Duration maxAge) {
        public static final StreamSpec DEFAULT = new StreamSpec(List.of(), null, null, null, null);

        public StreamSpec {
            subjects = List.copyOf(subjects);
        }
    }

    /** The servers as safe to log: any user:password part of a URL is replaced by {@code ***}. */
    public List<String> redactedServers() {
        return servers.stream().map(NatsSinkSettings::redact).toList();
    }

    /** Removes the user-info part of a URL, which may hold a password or token. */
    public static String redact(@Nullable String url) {
        if (url == null) {
            return "(none)";
        }
        int scheme = url.indexOf("://");
        int at = url.lastIndexOf('@');
        if (at < 0) {
            return url;
        }
        int start = scheme < 0 ? 0 : scheme + 3;
        return at > start ? url.substring(0, start) + "***" + url.substring(at) : url;
    }

    @Override
    public String toString() {
        return "NatsSinkSettings[id=" + id + ", servers=" + redactedServers() + ", subject=" + subject
                + ", stream=" + stream + ", sendTimeout=" + sendTimeout + ", batchTimeout=" + batchTimeout
                + ", maxInFlight=" + maxInFlight + ", maxInFlightBytes=" + maxInFlightBytes
                + ", createStream=" + createStream + ", auth=" + auth.kind() + ", tls=" + (tls != null)
                + ", headers=" + headers.keySet() + ", deadLetterSubject=" + deadLetterSubject
                + ", expectedRestart=" + expectedRestart + ", atomicTransactions=" + atomicTransactions
                + ", splitOversize=" + splitOversize + ", transactionSubject=" + transactionSubject + "]";
    }

    /** Which kind of authentication is configured, for logs. */
    public String authKind() {
        return auth.kind();
    }
}
