package io.deltaforge.envelopes;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.envelopes.internal.JsonOutput;
import io.deltaforge.envelopes.internal.PartitionKeys;
import io.deltaforge.envelopes.internal.Rfc3339;
import io.deltaforge.envelopes.internal.TableNames;
import io.deltaforge.envelopes.internal.Version;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The CloudEvents and native envelopes as Jackson's generator wrote them before {@code JsonBytes} replaced it
 * (the code of commit af5afde, trimmed to these two envelopes), kept as the reference that
 * {@link EnvelopeBytesDifferentialTest} compares the envelopes' bytes with. One instance per envelope
 * configuration and thread, like the envelopes' own writers.
 */
final class JacksonReference {
    private final Output out = new Output();
    private final JsonGenerator generator;

    JacksonReference() throws IOException {
        generator = FACTORY.createGenerator(out);
        generator.setRootValueSeparator(null);
    }

    /** What a CloudEvents envelope was configured with. */
    record CloudEvents(String typePrefix, @Nullable String tenant, Map<String, String> extensions,
                       EnumSet<CloudEventsEnvelope.StandardExtension> enabled, PartitionKeys partitionKeys) {
    }

    /** The structured CloudEvent, or with {@code dataOnly} its data alone (binary mode's body). */
    byte[] cloudEvent(ChangeEvent event, CloudEvents config, boolean dataOnly) throws IOException {
        if (dataOnly) {
            writeData(generator, event);
        } else {
            writeStructured(generator, event, config);
        }
        generator.flush();
        return out.takeBytes();
    }

    byte[] nativeEvent(ChangeEvent event, @Nullable String database) throws IOException {
        writeNative(generator, event, database);
        generator.flush();
        return out.takeBytes();
    }

    private static void writeStructured(JsonGenerator g, ChangeEvent event, CloudEvents self) throws IOException {
        SourcePosition p = event.position();
        char[] scratch = new char[40];
        g.writeStartObject();
        g.writeFieldName(new SerializedString("specversion"));
        g.writeString(new SerializedString("1.0"));
        g.writeFieldName(new SerializedString("id"));
        g.writeString(event.id());
        g.writeFieldName(new SerializedString("source"));
        g.writeString(new SerializedString(TableNames.source(event)));
        g.writeFieldName(new SerializedString("type"));
        g.writeString(new SerializedString(self.typePrefix() + '.' + CloudEventsEnvelope.verb(event.op())));
        g.writeFieldName(new SerializedString("time"));
        g.writeString(Rfc3339.format(p.commitTime()));
        g.writeFieldName(new SerializedString("datacontenttype"));
        g.writeString(new SerializedString("application/json"));
        g.writeFieldName(new SerializedString("subject"));
        g.writeString(new SerializedString(TableNames.subject(event)));
        EnumSet<CloudEventsEnvelope.StandardExtension> on = self.enabled();
        if (on.contains(CloudEventsEnvelope.StandardExtension.TXID)) {
            g.writeFieldName(new SerializedString("txid"));
            g.writeString(Long.toString(p.xid()));
        }
        if (on.contains(CloudEventsEnvelope.StandardExtension.LSN)) {
            g.writeFieldName(new SerializedString("lsn"));
            g.writeString(scratch, 0, CloudEventsEnvelope.lsnText(p.lsn().value(), scratch));
        }
        if (on.contains(CloudEventsEnvelope.StandardExtension.SEQUENCE)) {
            g.writeFieldName(new SerializedString("sequence"));
            g.writeString(scratch, 0, CloudEventsEnvelope.sequence(p, scratch));
        }
        if (on.contains(CloudEventsEnvelope.StandardExtension.PARTITIONKEY)) {
            String key = self.partitionKeys().keyOf(event);
            if (key != null) {
                g.writeFieldName(new SerializedString("partitionkey"));
                g.writeString(key);
            }
        }
        if (on.contains(CloudEventsEnvelope.StandardExtension.TENANT) && self.tenant() != null) {
            g.writeFieldName(new SerializedString("tenant"));
            g.writeString(new SerializedString(self.tenant()));
        }
        for (Map.Entry<String, String> e : self.extensions().entrySet()) {
            g.writeFieldName(new SerializedString(e.getKey()));
            g.writeString(e.getValue());
        }
        g.writeFieldName(new SerializedString("data"));
        writeData(g, event);
        g.writeEndObject();
    }

    private static void writeData(JsonGenerator g, ChangeEvent event) throws IOException {
        g.writeStartObject();
        writeChange(g, event);
        g.writeEndObject();
    }

    private static void writeNative(JsonGenerator g, ChangeEvent event, @Nullable String database)
            throws IOException {
        SourcePosition p = event.position();
        long tsMs = p.commitTime().toEpochMilli();
        g.writeStartObject();
        g.writeFieldName("id");
        g.writeString(event.id());
        writeChange(g, event);
        g.writeFieldName(SOURCE);
        g.writeStartObject();
        g.writeFieldName("version");
        g.writeString(Version.VERSION);
        g.writeFieldName("connector");
        g.writeString("postgresql");
        g.writeFieldName("name");
        g.writeString(event.sourceId());
        g.writeFieldName(TS_MS);
        g.writeNumber(tsMs);
        if (database != null) {
            g.writeFieldName("db");
            g.writeString(database);
        }
        g.writeFieldName("schema");
        g.writeString(event.table().schema());
        g.writeFieldName("table");
        g.writeString(event.table().table());
        g.writeFieldName("lsn");
        writeUnsigned(g, p.lsn().value());
        g.writeFieldName("txId");
        g.writeNumber(p.xid());
        g.writeEndObject();
        g.writeFieldName(TS_MS);
        g.writeNumber(tsMs);
        g.writeFieldName("transaction");
        g.writeStartObject();
        g.writeFieldName("id");
        g.writeString(Long.toString(p.xid()));
        g.writeFieldName("index");
        g.writeNumber(p.indexInTx());
        g.writeEndObject();
        g.writeEndObject();
    }

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
            .build();

    static final SerializedString BEFORE = new SerializedString("before");
    static final SerializedString AFTER = new SerializedString("after");
    static final SerializedString OP = new SerializedString("op");
    static final SerializedString SOURCE = new SerializedString("source");
    static final SerializedString TS_MS = new SerializedString("ts_ms");
    static final SerializedString MESSAGE = new SerializedString("message");
    static final SerializedString PREFIX = new SerializedString("prefix");
    static final SerializedString CONTENT = new SerializedString("content");
    private static final SerializedString TRUNCATE = new SerializedString("truncate");
    private static final SerializedString CASCADE = new SerializedString("cascade");
    private static final SerializedString RESTART_IDENTITY = new SerializedString("restart_identity");
    private static final SerializedString CONTENT_BASE64 = new SerializedString("content_base64");
    private static final SerializedString TRANSACTIONAL = new SerializedString("transactional");

    private static final int FIRST_BLOCK = 1024;

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
    static void writeChange(JsonGenerator g, ChangeEvent event) throws IOException {
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
    static void writeDetail(JsonGenerator g, ChangeEvent event) throws IOException {
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
            String text = JsonOutput.utf8OrNull(m.content());
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

    /** One value as compact JSON text, with the same rules as row values. */
    static String valueToJson(@Nullable Object value, ChangeEvent event, String column) {
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
    static void writeRow(JsonGenerator g, @Nullable Row row, ChangeEvent event) throws IOException {
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
    static void writeUnsigned(JsonGenerator g, long value) throws IOException {
        if (value >= 0) {
            g.writeNumber(value);
        } else {
            g.writeNumber(new BigInteger(Long.toUnsignedString(value)));
        }
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
