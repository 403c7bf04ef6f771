package io.deltaforge.nats.internal;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.nats.client.AuthenticationException;
import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.ErrorListener;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens connections for the NATS sink: connection options, authentication, TLS, and listeners that log
 * connection changes once per outage and remember what the server reported (permission errors, a failed
 * TLS handshake), so that failures can name their cause.
 */
final class NatsConnector {
    private static final Logger log = LoggerFactory.getLogger(NatsConnector.class);

    private final NatsSinkSettings settings;
    private final String name;
    /** Set from the first connection loss until a new connection is up, so each is logged once. */
    private final AtomicBoolean outage = new AtomicBoolean();
    private final AtomicInteger failedConnects = new AtomicInteger();
    /** Permission errors the server reported, e.g. {@code Permissions Violation for Publish to "x"}. */
    private final Set<String> deniedSubjects = ConcurrentHashMap.newKeySet();
    /** What jnats last reported through the error listener; a failed TLS handshake only shows up there. */
    private final AtomicReference<@Nullable Exception> lastConnectionError = new AtomicReference<>();
    private volatile boolean closing;

    NatsConnector(NatsSinkSettings settings, String name) {
        this.settings = settings;
        this.name = name;
    }

    /**
     * Connects to one of the configured servers. Throws {@link RetryableException} when none answers, and
     * {@link DeltaforgeException} for refused credentials, a failed TLS handshake or bad options.
     */
    Connection connect() {
        Options options = options();
        lastConnectionError.set(null);
        try {
            return Nats.connect(options);
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

    /** Counts a failed attempt to replace a lost connection; returns how many failed in a row. */
    int reconnectFailed() {
        return failedConnects.incrementAndGet();
    }

    /** Whether the server refused a publish to this subject (Permissions Violation). */
    boolean permissionDenied(String subject) {
        String quoted = "Publish to \"" + subject + "\"";
        for (String error : deniedSubjects) {
            if (error.contains(quoted)) {
                return true;
            }
        }
        return false;
    }

    /** The sink is closing: a connection lost from now on is expected and not worth a warning. */
    void closing() {
        closing = true;
    }

    void closeQuietly(Connection nc) {
        try {
            nc.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.debug("{}: closing the connection failed: {}", name, e.toString());
        }
    }

    private Options options() {
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
                // The timeout of jnats' own requests (stream checks, the stored-events scan, an atomic batch's
                // one-by-one check); a publish's PubAck is awaited on PubAckInbox, with the same send timeout.
                .requestCleanupInterval(settings.sendTimeout())
                .useTimeoutException()
                .maxMessagesInOutgoingQueue(Math.max(Options.DEFAULT_MAX_MESSAGES_IN_OUTGOING_QUEUE,
                        settings.maxInFlight() + 1024))
                // jnats checks the subject and reply subject of every publish, character by character (a
                // seventh of the sink thread in a profiled drain, under C1). Ours are checked before: the
                // sink's subjects when it is built (placeholders are filled with safe tokens), the reply
                // subjects are our inbox's, and an envelope's own once per subject (OutgoingMessages).
                .subjectValidationType(Options.SubjectValidationType.None)
                .connectionListener(new LoggingListener())
                .errorListener(new LoggingErrors());
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
                    options.sslContext(SSLContext.getDefault());
                } catch (NoSuchAlgorithmException e) {
                    throw new DeltaforgeException(name + ": this JVM has no default TLS context: " + e.getMessage(), e);
                }
            } else {
                options.sslContext(TlsContexts.create(name, tls.caFile(), tls.certFile(), tls.keyFile()));
            }
        }
        try {
            return options.build();
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new DeltaforgeException(name + ": invalid NATS connection options for "
                    + settings.redactedServers() + ": " + e.getMessage(), e);
        }
    }

    private static boolean isTlsFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SSLException || t instanceof CertificateException) {
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

    /** Logs connection changes; never prints URLs with user info. */
    private final class LoggingListener implements ConnectionListener {
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
                    } else if (!closing && outage.compareAndSet(false, true)) {
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
