package io.deltaforge.envelopes.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.api.TableId;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * Writes the parts the JSON envelopes share (rows, values, truncate and message details) into a
 * {@link JsonBytes}, and hands each envelope reusable writers: no object mapping, no intermediate tree, one
 * buffer per thread.
 *
 * <p>Row values are written as the {@link Row} contract lists them: numbers as JSON numbers
 * ({@link BigDecimal} in plain notation with every digit, never {@code 1E+3}), {@link RawJson} embedded as
 * JSON, lists as arrays, maps (composites, ranges, geometric types) as objects in their iteration order,
 * nested freely. Non-finite doubles become the strings {@code "NaN"}, {@code "Infinity"},
 * {@code "-Infinity"}, since JSON has no such numbers.
 *
 * <p>Thread-safe: it holds no state; {@link Writers} hands each thread a writer of its own.
 */
public final class JsonOutput {
    public static final JsonString BEFORE = new JsonString("before");
    public static final JsonString AFTER = new JsonString("after");
    public static final JsonString OP = new JsonString("op");
    public static final JsonString SOURCE = new JsonString("source");
    public static final JsonString TS_MS = new JsonString("ts_ms");
    public static final JsonString MESSAGE = new JsonString("message");
    public static final JsonString PREFIX = new JsonString("prefix");
    public static final JsonString CONTENT = new JsonString("content");
    /** Each op's code, by ordinal. */
    private static final JsonString[] OP_CODES = Arrays.stream(Op.values()).map(op -> new JsonString(op.code()))
            .toArray(JsonString[]::new);
    private static final JsonString TRUNCATE = new JsonString("truncate");
    private static final JsonString CASCADE = new JsonString("cascade");
    private static final JsonString RESTART_IDENTITY = new JsonString("restart_identity");
    private static final JsonString CONTENT_BASE64 = new JsonString("content_base64");
    private static final JsonString TRANSACTIONAL = new JsonString("transactional");

    private JsonOutput() {
    }

    /** Writes the body of one event. */
    @FunctionalInterface
    public interface Body<C> {
        void write(JsonBytes g, ChangeEvent event, C context) throws IOException;
    }

    /**
     * Reusable writers for one envelope: {@link Writers#toBytes} writes each event into a writer's buffer and
     * copies the event's bytes out. Making a writer per event would cost a buffer and its growth for every
     * event, and lose the writer's cache of column names.
     *
     * <p>Thread-safe without locks: a caller takes the idle writer (or makes one when another thread holds
     * it) and puts it back when done, so each writer is used by one thread at a time. A writer whose event
     * failed is dropped, since it may be in the middle of an object.
     */
    public static final class Writers {
        private final AtomicReference<@Nullable JsonBytes> idle = new AtomicReference<>();

        /** Writes one event with {@code body}; {@code context} passes the caller's state without a capturing lambda. */
        public <C> byte[] toBytes(ChangeEvent event, C context, Body<C> body) {
            JsonBytes w = idle.getAndSet(null);
            if (w == null) {
                w = new JsonBytes();
            }
            byte[] bytes;
            try {
                body.write(w, event, context);
                bytes = w.takeBytes();
            } catch (IOException e) {
                throw new DeltaforgeException("cannot write event " + event.id() + " as JSON: " + e.getMessage(), e);
            }
            idle.set(w);
            return bytes;
        }
    }

    /**
     * {@code "before": ..., "after": ..., "op": "c"}, the three always present; then, for a truncate, a
     * {@code "truncate"} object and, for a logical message, a {@code "message"} object (see
     * {@link #writeDetail}).
     */
    public static void writeChange(JsonBytes g, ChangeEvent event) throws IOException {
        g.writeFieldName(BEFORE);
        writeRow(g, event.before(), event);
        g.writeFieldName(AFTER);
        writeRow(g, event.after(), event);
        g.writeFieldName(OP);
        g.writeString(OP_CODES[event.op().ordinal()]);
        writeDetail(g, event);
    }

    /**
     * {@code "truncate":{"cascade":false,"restart_identity":false}} or
     * {@code "message":{"prefix":"p","content":"text","transactional":true}}; nothing for other events.
     * Message content is written as text when it is valid UTF-8, else as {@code "content_base64"}: exactly
     * one of the two is present.
     */
    public static void writeDetail(JsonBytes g, ChangeEvent event) throws IOException {
        ChangeEvent.Detail detail = event.detail();
        if (detail instanceof ChangeEvent.Detail.Truncate t) {
            g.writeFieldName(TRUNCATE);
            g.writeStartObject();
            g.writeFieldName(CASCADE);
            g.writeBoolean(t.cascade());
            g.writeFieldName(RESTART_IDENTITY);
            g.writeBoolean(t.restartIdentity());
            g.writeEndObject();
        } else if (detail instanceof ChangeEvent.Detail.Message m) {
            g.writeFieldName(MESSAGE);
            g.writeStartObject();
            g.writeFieldName(PREFIX);
            g.writeString(m.prefix());
            String text = utf8OrNull(m.content());
            if (text != null) {
                g.writeFieldName(CONTENT);
                g.writeString(text);
            } else {
                g.writeFieldName(CONTENT_BASE64);
                g.writeString(Base64.getEncoder().encodeToString(m.content()));
            }
            g.writeFieldName(TRANSACTIONAL);
            g.writeBoolean(m.transactional());
            g.writeEndObject();
        }
    }

    /** The bytes as text when they are well-formed UTF-8, else null. */
    public static @Nullable String utf8OrNull(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /**
     * {@code schema.table}, or just the name when the schema is empty (logical messages carry their prefix
     * as the table name and no schema).
     */
    public static String qualifiedName(TableId table) {
        return table.schema().isEmpty() ? table.table() : table.toString();
    }

    /** One value as compact JSON text, with the same rules as row values. */
    public static String valueToJson(@Nullable Object value, ChangeEvent event, String column) {
        // Keys are mostly integers: no writer for them.
        if (value instanceof Long || value instanceof Integer || value instanceof Boolean) {
            return value.toString();
        }
        if (value instanceof java.math.BigDecimal d) {
            return d.toPlainString();
        }
        JsonBytes out = new JsonBytes(64);
        try {
            writeValue(out, value, event, column);
        } catch (IOException e) {
            throw new DeltaforgeException("cannot write event " + event.id() + " as JSON: " + e.getMessage(), e);
        }
        return new String(out.takeBytes(), StandardCharsets.UTF_8);
    }

    /** A row as an object with columns in table order, or {@code null}. */
    public static void writeRow(JsonBytes g, @Nullable Row row, ChangeEvent event) throws IOException {
        if (row == null) {
            g.writeNull();
            return;
        }
        List<String> columns = row.columns();
        int n = row.size();
        JsonString @Nullable [] names = g.columnNames().of(columns);
        g.writeStartObject();
        for (int i = 0; i < n; i++) {
            String column = columns.get(i);
            if (names != null) {
                g.writeFieldName(names[i]);
            } else {
                g.writeFieldName(column);
            }
            writeValue(g, row.value(i), event, column);
        }
        g.writeEndObject();
    }

    /** An unsigned 64-bit number, such as an LSN, as a JSON number. */
    public static void writeUnsigned(JsonBytes g, long value) throws IOException {
        if (value >= 0) {
            g.writeNumber(value);
        } else {
            g.writeNumber(new BigInteger(Long.toUnsignedString(value)));
        }
    }

    /** An LSN as its unsigned decimal text, as Debezium writes LSNs. */
    public static String decimal(Lsn lsn) {
        return Long.toUnsignedString(lsn.value());
    }

    static void writeValue(JsonBytes g, @Nullable Object value, ChangeEvent event, String column)
            throws IOException {
        if (value == null) {
            g.writeNull();
        } else if (value instanceof String s) {
            g.writeString(s);
        } else if (value instanceof Long l) {
            g.writeNumber(l);
        } else if (value instanceof BigDecimal d) {
            g.writeNumber(d);
        } else if (value instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (value instanceof Double d) {
            g.writeNumber(d);
        } else if (value instanceof RawJson raw) {
            g.writeRawValue(raw.json());
        } else if (value instanceof List<?> list) {
            g.writeStartArray();
            for (Object item : list) {
                writeValue(g, item, event, column);
            }
            g.writeEndArray();
        } else if (value instanceof Integer || value instanceof Short || value instanceof Byte) {
            // Outside the Row contract, but lossless; a custom source may hand these over.
            g.writeNumber(((Number) value).intValue());
        } else if (value instanceof BigInteger bi) {
            g.writeNumber(bi);
        } else if (value instanceof Float f) {
            g.writeNumber(f.doubleValue());
        } else if (value instanceof Map<?, ?> map) {
            // Composites, ranges and geometric values: an object in the map's own (iteration) order.
            g.writeStartObject();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                g.writeFieldName(String.valueOf(e.getKey()));
                writeValue(g, e.getValue(), event, column);
            }
            g.writeEndObject();
        } else {
            throw new DeltaforgeException("column '" + column + "' of " + event.table() + " (event " + event.id()
                    + ") holds a " + value.getClass().getName() + ", which JSON envelopes cannot encode; the source"
                    + " must map values to null, Boolean, Long, Double, BigDecimal, String, RawJson, List or Map");
        }
    }
}
