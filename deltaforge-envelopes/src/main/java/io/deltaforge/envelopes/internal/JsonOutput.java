package io.deltaforge.envelopes.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.api.TableId;
import java.io.IOException;
import java.io.OutputStream;
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
 * Streams envelopes to JSON bytes with Jackson's generator: no object mapping, no intermediate tree, one
 * buffer per event.
 *
 * <p>Row values are written as the {@link Row} contract lists them: numbers as JSON numbers
 * ({@link BigDecimal} in plain notation with every digit, never {@code 1E+3}), {@link RawJson} embedded as
 * JSON, lists as arrays, maps (composites, ranges, geometric types) as objects in their iteration order,
 * nested freely. Non-finite doubles become the strings {@code "NaN"}, {@code "Infinity"},
 * {@code "-Infinity"}, since JSON has no such numbers.
 *
 * <p>Thread-safe: the factory is configured once and only read afterwards.
 */
public final class JsonOutput {
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
            .build();

    public static final SerializedString BEFORE = new SerializedString("before");
    public static final SerializedString AFTER = new SerializedString("after");
    public static final SerializedString OP = new SerializedString("op");
    public static final SerializedString SOURCE = new SerializedString("source");
    public static final SerializedString TS_MS = new SerializedString("ts_ms");
    public static final SerializedString MESSAGE = new SerializedString("message");
    public static final SerializedString PREFIX = new SerializedString("prefix");
    public static final SerializedString CONTENT = new SerializedString("content");
    private static final SerializedString TRUNCATE = new SerializedString("truncate");
    private static final SerializedString CASCADE = new SerializedString("cascade");
    private static final SerializedString RESTART_IDENTITY = new SerializedString("restart_identity");
    private static final SerializedString CONTENT_BASE64 = new SerializedString("content_base64");
    private static final SerializedString TRANSACTIONAL = new SerializedString("transactional");

    private static final int FIRST_BLOCK = 1024;

    private JsonOutput() {
    }

    /** Writes the body of one event. */
    @FunctionalInterface
    public interface Body<C> {
        void write(JsonGenerator g, ChangeEvent event, C context) throws IOException;
    }

    /**
     * Reusable generators for one envelope: {@link Writers#toBytes} writes each event as one more root value of
     * a long-lived generator into a buffer of its own, and copies the event's bytes out. Making a generator
     * per event (its context, its buffer-recycler lookup, a 1 kB first block) took a fifth of the encoding
     * thread in profiles and most of its garbage.
     *
     * <p>Thread-safe without locks: a caller takes the idle writer (or makes one when another thread holds
     * it) and puts it back when done, so each generator is used by one thread at a time. A writer whose
     * event failed is dropped, since its generator may be in the middle of an object.
     */
    public static final class Writers {
        private final AtomicReference<@Nullable Writer> idle = new AtomicReference<>();

        /** Writes one event with {@code body}; {@code context} passes the caller's state without a capturing lambda. */
        public <C> byte[] toBytes(ChangeEvent event, C context, Body<C> body) {
            Writer w = idle.getAndSet(null);
            if (w == null) {
                w = new Writer();
            }
            byte[] bytes;
            try {
                body.write(w.generator, event, context);
                w.generator.flush();
                bytes = w.out.takeBytes();
            } catch (IOException e) {
                throw new DeltaforgeException("cannot write event " + event.id() + " as JSON: " + e.getMessage(), e);
            }
            idle.set(w);
            return bytes;
        }
    }

    private static final class Writer {
        final Output out = new Output();
        final JsonGenerator generator;

        Writer() {
            try {
                generator = FACTORY.createGenerator(out);
            } catch (IOException e) {
                throw new DeltaforgeException("cannot create a JSON generator: " + e.getMessage(), e);
            }
            // Events follow one another as root values; nothing may go between them.
            generator.setRootValueSeparator(null);
        }
    }

    /**
     * A growable byte buffer that hands out its content and starts again; shrinks after a huge event.
     * Also the writer's cache of column names, pre-encoded: row writing finds it as the generator's target.
     */
    private static final class Output extends OutputStream {
        private static final int KEEP = 64 * 1024;
        private static final int TABLES = 16;
        private byte[] buf = new byte[FIRST_BLOCK * 4];
        private int count;
        /**
         * Column lists seen twice, by identity (a source hands every row of a table the same list), and
         * their names as SerializedStrings; replaced round robin.
         */
        private final List<?>[] columnLists = new List<?>[TABLES];
        private final SerializedString[][] columnNames = new SerializedString[TABLES][];
        private int nextSlot;
        private @Nullable List<?> seenOnce;

        /** The pre-encoded names of these columns, or null the first time a list is seen. */
        SerializedString @Nullable [] names(List<String> columns) {
            for (int i = 0; i < TABLES; i++) {
                if (columnLists[i] == columns) {
                    return columnNames[i];
                }
            }
            if (seenOnce != columns) {
                // A list made for one row only (some sources build them per event) is not worth encoding.
                seenOnce = columns;
                return null;
            }
            SerializedString[] names = new SerializedString[columns.size()];
            for (int i = 0; i < names.length; i++) {
                names[i] = new SerializedString(columns.get(i));
            }
            columnLists[nextSlot] = columns;
            columnNames[nextSlot] = names;
            nextSlot = (nextSlot + 1) % TABLES;
            return names;
        }

        @Override
        public void write(int b) {
            ensure(1);
            buf[count++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            ensure(len);
            System.arraycopy(b, off, buf, count, len);
            count += len;
        }

        private void ensure(int more) {
            if (count + more > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, count + more));
            }
        }

        byte[] takeBytes() {
            byte[] bytes = Arrays.copyOf(buf, count);
            count = 0;
            if (buf.length > KEEP) {
                // One big event must not pin its buffer for the life of the pipeline.
                buf = new byte[FIRST_BLOCK * 4];
            }
            return bytes;
        }
    }

    /**
     * {@code "before": ..., "after": ..., "op": "c"}, the three always present; then, for a truncate, a
     * {@code "truncate"} object and, for a logical message, a {@code "message"} object (see
     * {@link #writeDetail}).
     */
    public static void writeChange(JsonGenerator g, ChangeEvent event) throws IOException {
        g.writeFieldName(BEFORE);
        writeRow(g, event.before(), event);
        g.writeFieldName(AFTER);
        writeRow(g, event.after(), event);
        g.writeFieldName(OP);
        g.writeString(event.op().code());
        writeDetail(g, event);
    }

    /**
     * {@code "truncate":{"cascade":false,"restart_identity":false}} or
     * {@code "message":{"prefix":"p","content":"text","transactional":true}}; nothing for other events.
     * Message content is written as text when it is valid UTF-8, else as {@code "content_base64"}: exactly
     * one of the two is present.
     */
    public static void writeDetail(JsonGenerator g, ChangeEvent event) throws IOException {
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
        // Keys are mostly integers: no generator for them. A generator made while the envelope's own is
        // open cannot reuse the thread's recycled buffer and costs a fresh 8 kB buffer per call.
        if (value instanceof Long || value instanceof Integer || value instanceof Boolean) {
            return value.toString();
        }
        if (value instanceof java.math.BigDecimal d) {
            return d.toPlainString();
        }
        ByteArrayBuilder out = new ByteArrayBuilder(64);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            writeValue(g, value, event, column);
        } catch (IOException e) {
            throw new DeltaforgeException("cannot write event " + event.id() + " as JSON: " + e.getMessage(), e);
        }
        return new String(out.toByteArray(), StandardCharsets.UTF_8);
    }

    /** A row as an object with columns in table order, or {@code null}. */
    public static void writeRow(JsonGenerator g, @Nullable Row row, ChangeEvent event) throws IOException {
        if (row == null) {
            g.writeNull();
            return;
        }
        List<String> columns = row.columns();
        int n = row.size();
        SerializedString @Nullable [] names = g.getOutputTarget() instanceof Output out ? out.names(columns) : null;
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
    public static void writeUnsigned(JsonGenerator g, long value) throws IOException {
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

    static void writeValue(JsonGenerator g, @Nullable Object value, ChangeEvent event, String column)
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
            writeDouble(g, d);
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
            writeDouble(g, f.doubleValue());
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

    private static void writeDouble(JsonGenerator g, double d) throws IOException {
        if (Double.isFinite(d)) {
            g.writeNumber(d);
        } else {
            g.writeString(Double.toString(d));
        }
    }
}
