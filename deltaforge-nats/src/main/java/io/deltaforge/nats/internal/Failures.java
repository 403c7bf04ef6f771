package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.nats.client.JetStreamApiException;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * Turns what jnats reports for one publish into a {@link RetryableException} (the engine resends the
 * batch, JetStream drops the copies) or a plain {@link DeltaforgeException} (resending cannot help).
 */
public final class Failures {
    /** JSStreamMessageExceedsMaximumErr: bigger than the stream's max_msg_size or the server's max_payload. */
    static final int MESSAGE_TOO_BIG = 10054;
    /** JSStreamNotFoundErr. */
    static final int STREAM_NOT_FOUND = 10059;
    /** JSStreamDuplicateMessageConflict: a message id is being stored by another publish right now. */
    static final int DUPLICATE_IN_PROCESS = 10158;
    /** JSStreamNotMatchErr: the subject is stored by another stream than the expected one. */
    static final int STREAM_NOT_MATCH = 10060;

    private Failures() {
    }

    /** Whether a stream-info request failed because the stream does not exist (older servers: only 404). */
    static boolean streamNotFound(JetStreamApiException e) {
        return e.getApiErrorCode() == STREAM_NOT_FOUND || e.getErrorCode() == 404;
    }

    /**
     * What a publish of {@code event} failed with, as the batch stage should fail.
     *
     * @param limits the size limits known from start, for messages, e.g. "stream max_msg_size 1024 bytes"
     */
    public static DeltaforgeException classify(String sinkId, String stream, String subject, Duration sendTimeout,
                                               String limits, ChangeEvent event, int payloadBytes, Throwable error) {
        Throwable t = unwrap(error);
        String what = "sink " + sinkId + ": publishing event " + event.id() + " of " + event.table() + " (LSN "
                + event.position().lsn() + ", commit LSN " + event.position().commitLsn() + ") to '" + subject
                + "' (stream '" + stream + "')";
        if (t instanceof DeltaforgeException de) {
            return de;
        }
        if (t instanceof TimeoutException || t instanceof CancellationException) {
            return new RetryableException(what + " got no acknowledgement within " + sendTimeout.toMillis()
                    + " ms; the batch will be resent (JetStream drops the copies by Nats-Msg-Id)", t);
        }
        if (t instanceof IllegalStateException) {
            // jnats refuses to queue while disconnected/reconnecting (reconnect buffer is 0) or closed.
            return new RetryableException(what + " failed: the connection is not usable (" + t.getMessage()
                    + "); the batch will be resent once it reconnects", t);
        }
        if (t instanceof IllegalArgumentException && t.getMessage() != null
                && t.getMessage().contains("payload size")) {
            return new DeltaforgeException(what + " failed: the message is " + payloadBytes
                    + " bytes, more than the server's max_payload (" + t.getMessage()
                    + "); raise max_payload in the nats-server configuration, or set dead_letter_subject", t);
        }
        if (t instanceof JetStreamApiException api) {
            return classifyApi(what, stream, limits, payloadBytes, api);
        }
        if (t instanceof IOException io) {
            String msg = String.valueOf(io.getMessage());
            if (msg.contains("503")) {
                return new RetryableException(what + " failed: no JetStream responder (" + msg
                        + "); JetStream may be restarting or electing a leader. If this persists, check that stream '"
                        + stream + "' still exists and captures '" + subject + "'", io);
            }
            return new RetryableException(what + " failed: " + msg, io);
        }
        return new DeltaforgeException(what + " failed: " + t, t);
    }

    private static DeltaforgeException classifyApi(String what, String stream, String limits, int payloadBytes,
                                                   JetStreamApiException api) {
        int code = api.getApiErrorCode();
        String server = api.getErrorDescription() + " (err_code " + code + ", code " + api.getErrorCode() + ")";
        switch (code) {
            case MESSAGE_TOO_BIG:
                return new DeltaforgeException(what + " failed: the message is " + payloadBytes
                        + " bytes of payload (plus headers), more than stream '" + stream + "' accepts (" + limits
                        + "): " + server + "; raise the limit or make the event smaller", api);
            case STREAM_NOT_FOUND:
                return new DeltaforgeException(what + " failed: stream '" + stream + "' does not exist: " + server
                        + "; create it again (e.g. nats stream add " + stream + ")", api);
            case STREAM_NOT_MATCH:
                return new DeltaforgeException(what + " failed: the subject is stored by another stream than '"
                        + stream + "': " + server + "; fix the streams' subjects", api);
            default:
                break;
        }
        // 5xx: storage, cluster or resource trouble that may pass (e.g. a full stream with discard new,
        // a leader election); 4xx: the request itself is wrong and a resend would fail the same way.
        int status = api.getErrorCode();
        if (status >= 500 || status == 408 || status == 429 || status <= 0) {
            return new RetryableException(what + " failed: " + server, api);
        }
        return new DeltaforgeException(what + " was rejected: " + server, api);
    }

    /** Strips the wrappers CompletableFuture and jnats put around the cause. */
    public static Throwable unwrap(Throwable error) {
        Throwable t = error;
        while ((t instanceof CompletionException || t instanceof ExecutionException
                || isBareWrapper(t)) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** jnats wraps a checked JetStreamApiException/IOException in a plain RuntimeException. */
    private static boolean isBareWrapper(@Nullable Throwable t) {
        return t != null && t.getClass() == RuntimeException.class
                && (t.getCause() instanceof JetStreamApiException || t.getCause() instanceof IOException);
    }
}
