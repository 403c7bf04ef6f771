package io.deltaforge.nats.internal;

import io.nats.client.JetStreamApiException;
import io.nats.client.Message;
import io.nats.client.api.PublishAck;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * Reads PubAcks without a JSON tree. jnats' {@code publishAsync} parses every PubAck into a JSON tree and a
 * {@link PublishAck} on its dispatcher thread (about a third of the jnats threads' CPU in a backlog drain); a
 * stored PubAck is one flat object of known fields, so a byte scan tells stored from duplicate. Anything else
 * (an error, a status, an unexpected shape) goes to jnats' own {@link PublishAck}, so failures are the
 * exceptions {@code publishAsync} would have failed with.
 */
final class PubAcks {
    /** What one reply says: stored, stored before (a duplicate), or the publish's failure. */
    record Outcome(boolean duplicate, @Nullable Throwable failure) {
    }

    private static final Outcome STORED = new Outcome(false, null);
    private static final Outcome DUPLICATE = new Outcome(true, null);
    /** The status nats-server sends to the reply subject when nothing subscribes to the publish's subject. */
    private static final int NO_RESPONDERS = 503;
    /**
     * A stored PubAck: {"stream":"NAME","seq":N,...} (2.9 writes {"stream":"NAME", "seq":N}); an error reply
     * starts with "error" and never matches.
     */
    private static final byte[] STREAM_FIRST = bytes("{\"stream\":\"");
    private static final byte[] SEQ = bytes("\"seq\":");
    private static final byte[] ERROR = bytes("\"error\"");
    /** Followed by true or false; nats-server writes a space after the colon ("duplicate": true). */
    private static final byte[] DUPLICATE_FIELD = bytes("\"duplicate\":");

    private PubAcks() {
    }

    /** Reads the reply to a JetStream publish. */
    static Outcome read(Message reply) {
        try {
            if (reply.isStatusMessage()) {
                // As publishAsync reports it; Failures tells a 503 (no JetStream responder) by its code.
                throw new IOException("Error Publishing: " + (reply.getStatus().getCode() == NO_RESPONDERS
                        ? "503 No Responders Available For Request" : reply.getStatus().getMessageWithCode()));
            }
            byte[] data = reply.getData();
            Outcome stored = stored(data);
            if (stored != null) {
                return stored;
            }
            return new PublishAck(reply).isDuplicate() ? DUPLICATE : STORED;
        } catch (IOException | JetStreamApiException e) {
            return new Outcome(false, e);
        }
    }

    /**
     * STORED or DUPLICATE when {@code data} is a stored PubAck (starts with the stream, has a seq, no error),
     * else null. One pass that compares only where a quote may start a field name: three scans of every
     * reply were a tenth of the jnats threads' CPU in a backlog drain (C1 compiles the nested loops plainly).
     */
    private static @Nullable Outcome stored(byte[] data) {
        if (!at(data, 0, STREAM_FIRST)) {
            return null;
        }
        boolean seq = false;
        int duplicateAt = -1;
        for (int i = STREAM_FIRST.length; i < data.length; i++) {
            if (data[i] != '"') {
                continue;
            }
            if (at(data, i, ERROR)) {
                return null;
            }
            if (!seq && at(data, i, SEQ)) {
                seq = true;
            } else if (duplicateAt < 0 && at(data, i, DUPLICATE_FIELD)) {
                duplicateAt = i + DUPLICATE_FIELD.length;
            }
        }
        if (!seq) {
            return null;
        }
        return duplicateAt >= 0 && duplicateTrue(data, duplicateAt) ? DUPLICATE : STORED;
    }

    private static boolean duplicateTrue(byte[] data, int valueAt) {
        int i = valueAt;
        while (i < data.length && data[i] == ' ') {
            i++;
        }
        return i < data.length && data[i] == 't';
    }

    private static boolean at(byte[] data, int from, byte[] part) {
        if (data.length - from < part.length) {
            return false;
        }
        for (int k = 0; k < part.length; k++) {
            if (data[from + k] != part[k]) {
                return false;
            }
        }
        return true;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
