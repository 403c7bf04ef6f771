package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.Headers;
import io.nats.client.support.NatsJetStreamConstants;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The opt-in dead-letter subject: an event too big to publish is replaced there by a small JSON record of
 * it (enough to find and replay it), so the pipeline goes on.
 */
final class DeadLetters {
    private final @Nullable String subject;
    private final String stream;
    private final String name;
    private final AtomicLong count = new AtomicLong();

    DeadLetters(NatsSinkSettings settings, String name) {
        this.subject = settings.deadLetterSubject();
        this.stream = settings.stream();
        this.name = name;
    }

    /** The configured subject; null when oversized events fail the pipeline instead. */
    @Nullable String subject() {
        return subject;
    }

    /** Events replaced so far. */
    long count() {
        return count.get();
    }

    /**
     * Checks at start that some stream captures the dead-letter subject, if one is configured.
     *
     * @return whether the sink's own stream captures it (true when none is configured)
     */
    /** {@link #checkSubject} for a stream that does not exist yet and will be created as {@code planned}. */
    boolean checkSubject(JetStreamManagement jsm, StreamConfiguration planned) throws IOException {
        if (subject == null || planned.getSubjects().stream().anyMatch(f -> Subjects.matches(f, subject))) {
            return true;
        }
        checkSubject(jsm);
        return false;
    }

    boolean checkSubject(JetStreamManagement jsm) throws IOException {
        if (subject == null) {
            return true;
        }
        try {
            List<String> streams = jsm.getStreamNames(subject);
            if (streams.isEmpty()) {
                throw new DeltaforgeException(name + ": no stream captures dead_letter_subject '" + subject + "'; add it to"
                        + " a stream's subjects (e.g. to '" + stream + "') or choose a captured subject");
            }
            return streams.contains(stream);
        } catch (JetStreamApiException e) {
            throw new DeltaforgeException(name + ": cannot check dead_letter_subject '" + subject + "': "
                    + e.getErrorDescription(), e);
        }
    }

    /**
     * What replaces an oversized event: its record, under the event's message id (so a resend is
     * de-duplicated like the event would have been). Only called when a subject is configured.
     *
     * @param intended the subject the event would have gone to
     * @param size     the event's size with headers
     * @param limit    the size NATS accepts
     */
    Replacement replace(ChangeEvent event, String messageId, String intended, int size, long limit) {
        byte[] body = record(event, intended, size, limit);
        Headers headers = new Headers();
        headers.put(OutgoingMessages.CONTENT_TYPE, "application/json");
        headers.put("DeltaForge-Dead-Letter", "too-large");
        headers.put(NatsJetStreamConstants.MSG_ID_HDR, messageId);
        count.incrementAndGet();
        return new Replacement(headers, body);
    }

    /** A dead-letter message: its headers and body. */
    record Replacement(Headers headers, byte[] body) {
    }

    private static byte[] record(ChangeEvent event, String subject, int size, long limit) {
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
        return json.toString().getBytes(StandardCharsets.UTF_8);
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
}
