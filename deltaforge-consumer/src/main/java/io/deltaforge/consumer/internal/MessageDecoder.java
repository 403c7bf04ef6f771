package io.deltaforge.consumer.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deltaforge.consumer.ChangeMessage;
import io.deltaforge.consumer.ChangeOp;
import io.deltaforge.consumer.EnvelopeFormat;
import io.nats.client.impl.Headers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Turns a message of any built-in envelope into a {@link ChangeMessage}. The envelope is told by its headers
 * ({@code ce-specversion}: CloudEvents binary; {@code application/cloudevents+json} or a {@code specversion}
 * field: structured) and else by its shape (a {@code source.sequence}: debezium; else native). Thread-safe.
 */
public final class MessageDecoder {
    private static final String CE_HEADER = "ce-";
    private final ObjectMapper json = new ObjectMapper();

    /** Where the message came from; {@code headers} may be null. */
    public ChangeMessage decode(@Nullable Headers headers, byte[] body, String subject, long streamSequence,
                                long attempt) {
        String msgId = header(headers, "Nats-Msg-Id");
        if (header(headers, "ce-specversion") != null) {
            return cloudEvent(attributesFromHeaders(headers), parse(body), EnvelopeFormat.CLOUDEVENTS_BINARY,
                    subject, streamSequence, attempt);
        }
        JsonNode root = parse(body);
        String contentType = header(headers, "Content-Type");
        if (root.has("specversion")
                || contentType != null && contentType.toLowerCase(Locale.ROOT).startsWith("application/cloudevents+json")) {
            return cloudEvent(root, root.path("data"), EnvelopeFormat.CLOUDEVENTS_STRUCTURED, subject,
                    streamSequence, attempt);
        }
        JsonNode payload = withoutSchema(root);
        if (payload.path("source").has("sequence")) {
            return debezium(payload, msgId, subject, streamSequence, attempt);
        }
        if (payload.has("op") && payload.has("source")) {
            return nativeEvent(payload, msgId, subject, streamSequence, attempt);
        }
        throw new IllegalArgumentException("not a DeltaForge event: no ce-specversion header, no specversion, "
                + "and no op/source fields (content type " + contentType + ")");
    }

    private ChangeMessage cloudEvent(JsonNode attrs, JsonNode data, EnvelopeFormat format, String subject,
                                     long streamSequence, long attempt) {
        ChangeOp op = ChangeOp.ofCode(required(data, "op", "data.op"));
        String ceSubject = required(attrs, "subject", "subject");
        String schema = "";
        String table = ceSubject;
        int dot = ceSubject.indexOf('.');
        if (op != ChangeOp.MESSAGE && dot > 0) {
            schema = ceSubject.substring(0, dot);
            table = ceSubject.substring(dot + 1);
        }
        String sequence = text(attrs, "sequence");
        String commitLsn = null;
        Integer index = null;
        if (sequence != null && sequence.length() == 27 && sequence.charAt(16) == '-') {
            commitLsn = Lsns.text(Long.parseUnsignedLong(sequence.substring(0, 16), 16));
            index = Integer.valueOf(sequence.substring(17));
        }
        String time = text(attrs, "time");
        return new ChangeMessage(required(attrs, "id", "id"), op, schema, table, partitionKey(text(attrs, "partitionkey")),
                node(data, "before"), node(data, "after"), text(attrs, "lsn"), commitLsn, text(attrs, "txid"), index,
                sequence, time == null ? null : Instant.parse(time), format, data, subject, streamSequence, attempt);
    }

    private ChangeMessage nativeEvent(JsonNode root, @Nullable String msgId, String subject, long streamSequence,
                                      long attempt) {
        JsonNode source = root.path("source");
        JsonNode tx = root.path("transaction");
        String id = text(root, "id");
        JsonNode index = tx.get("index");
        return new ChangeMessage(id != null ? id : requireId(msgId), ChangeOp.ofCode(required(root, "op", "op")),
                source.path("schema").asText(""), tableOf(root, source), null, node(root, "before"),
                node(root, "after"), lsn(source.get("lsn")), null,
                text(tx, "id") != null ? text(tx, "id") : text(source, "txId"),
                index == null || !index.canConvertToInt() ? null : index.intValue(), null, millis(root), EnvelopeFormat.NATIVE,
                root, subject, streamSequence, attempt);
    }

    private ChangeMessage debezium(JsonNode root, @Nullable String msgId, String subject, long streamSequence,
                                   long attempt) {
        JsonNode source = root.path("source");
        return new ChangeMessage(requireId(msgId), ChangeOp.ofCode(required(root, "op", "op")),
                source.path("schema").asText(""), tableOf(root, source), null, node(root, "before"),
                node(root, "after"), lsn(source.get("lsn")), null, text(source, "txId"), null, null,
                millis(root), EnvelopeFormat.DEBEZIUM, root, subject, streamSequence, attempt);
    }

    /** A logical message names its prefix in the body, not in {@code source.table} (empty there). */
    private static String tableOf(JsonNode root, JsonNode source) {
        String prefix = text(root.path("message"), "prefix");
        return "m".equals(text(root, "op")) && prefix != null ? prefix : source.path("table").asText("");
    }

    private ObjectNode attributesFromHeaders(@Nullable Headers headers) {
        ObjectNode attrs = JsonNodeFactory.instance.objectNode();
        if (headers != null) {
            for (String name : headers.keySet()) {
                if (name.regionMatches(true, 0, CE_HEADER, 0, CE_HEADER.length())) {
                    attrs.put(name.substring(CE_HEADER.length()).toLowerCase(Locale.ROOT),
                            percentDecode(headers.getFirst(name)));
                }
            }
        }
        return attrs;
    }

    private @Nullable JsonNode partitionKey(@Nullable String text) {
        if (text == null) {
            return null;
        }
        return text.startsWith("[") ? parse(text.getBytes(StandardCharsets.UTF_8))
                : JsonNodeFactory.instance.textNode(text);
    }

    /**
     * A transaction BEGIN or END event of the {@code debezium} envelope ({@code provide_transaction_metadata}),
     * which is no change: what it marks, or null for any other message.
     */
    public @Nullable TransactionMarker transactionMarker(byte[] body) {
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (IOException e) {
            return null;
        }
        if (root == null || !root.isObject()) {
            return null;
        }
        JsonNode marker = withoutSchema(root);
        String status = marker.path("status").asText("");
        if (!marker.has("data_collections") || !status.equals("BEGIN") && !status.equals("END")) {
            return null;
        }
        String id = marker.path("id").asText("");
        int colon = id.indexOf(':');
        return new TransactionMarker(status.equals("END"), colon < 0 ? id : id.substring(0, colon));
    }

    /**
     * @param end           an END (else a BEGIN)
     * @param transactionId the transaction id as {@link ChangeMessage#transactionId()} gives it
     */
    public record TransactionMarker(boolean end, String transactionId) {
    }

    /** The payload of a Connect {@code {schema, payload}} wrapper ({@code schemas_enable}); else the root. */
    private static JsonNode withoutSchema(JsonNode root) {
        return root.has("payload") && root.has("schema") && root.size() == 2 ? root.get("payload") : root;
    }

    private JsonNode parse(byte[] body) {
        try {
            JsonNode node = json.readTree(body);
            if (node == null || node.isMissingNode()) {
                throw new IllegalArgumentException("empty body: not a DeltaForge event");
            }
            return node;
        } catch (IOException e) {
            throw new IllegalArgumentException("body is not JSON: " + e.getMessage(), e);
        }
    }

    private static String requireId(@Nullable String msgId) {
        if (msgId == null) {
            throw new IllegalArgumentException("no event id: the message has no Nats-Msg-Id header");
        }
        return msgId;
    }

    private static String required(JsonNode node, String field, String path) {
        String value = text(node, field);
        if (value == null) {
            throw new IllegalArgumentException("missing field '" + path + "'");
        }
        return value;
    }

    private static @Nullable String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    private static @Nullable JsonNode node(JsonNode parent, String field) {
        JsonNode value = parent.get(field);
        return value == null || value.isNull() ? null : value;
    }

    private static @Nullable String lsn(@Nullable JsonNode number) {
        return number == null || !number.canConvertToLong() ? null : Lsns.text(number.longValue());
    }

    private static @Nullable Instant millis(JsonNode root) {
        JsonNode ts = root.get("ts_ms");
        return ts == null || !ts.canConvertToLong() ? null : Instant.ofEpochMilli(ts.longValue());
    }

    private static @Nullable String header(@Nullable Headers headers, String name) {
        return headers == null ? null : headers.getFirst(name);
    }

    /** Undoes the NATS binding's header escaping ({@code %XY} of UTF-8 bytes). */
    static String percentDecode(String value) {
        if (value.indexOf('%') < 0) {
            return value;
        }
        StringBuilder out = new StringBuilder(value.length());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int i = 0;
        while (i < value.length()) {
            if (value.charAt(i) == '%' && i + 2 < value.length() && isHex(value.charAt(i + 1))
                    && isHex(value.charAt(i + 2))) {
                bytes.write(Integer.parseInt(value.substring(i + 1, i + 3), 16));
                i += 3;
            } else {
                out.append(bytes.toString(StandardCharsets.UTF_8));
                bytes.reset();
                out.append(value.charAt(i));
                i++;
            }
        }
        return out.append(bytes.toString(StandardCharsets.UTF_8)).toString();
    }

    private static boolean isHex(char ch) {
        return Character.digit(ch, 16) >= 0;
    }
}
