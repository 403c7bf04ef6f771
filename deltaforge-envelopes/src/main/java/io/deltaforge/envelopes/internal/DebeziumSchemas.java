package io.deltaforge.envelopes.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ColumnType;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Op;
import io.deltaforge.api.TableId;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The Kafka Connect schema Debezium's JSON converter writes next to each payload with
 * {@code schemas.enable=true}: the envelope struct {@code <name>.<schema>.<table>.Envelope} with
 * {@code before}/{@code after} as {@code <name>.<schema>.<table>.Value}, Debezium's {@code Source} block,
 * the transaction block and the top-level fields, each column as Debezium's converters declare it under the
 * configured handling modes. Learned from Debezium's output, checked by the differential test.
 *
 * <p>A schema depends only on the source name, the table, its column types and the kind of event, so each
 * is built once and kept (bounded). Thread-safe.
 */
public final class DebeziumSchemas {
    static final int MAX_SCHEMAS = 1024;
    private static final JsonFactory FACTORY = new JsonFactory();

    private final DebeziumValues.Decimals decimals;
    private final DebeziumValues.Times times;
    private final DebeziumValues.Binary binary;
    private final DebeziumValues.Intervals intervals;
    private final DebeziumValues.Hstore hstore;
    private final DebeziumValues values;
    private final Map<Key, String> built = new ConcurrentHashMap<>();

    private record Key(String sourceId, TableId table, List<ColumnType> types, Op kind) {
    }

    public DebeziumSchemas(DebeziumValues.Decimals decimals, DebeziumValues.Times times, DebeziumValues.Binary binary,
                           DebeziumValues.Intervals intervals, DebeziumValues.Hstore hstore) {
        this.decimals = decimals;
        this.times = times;
        this.binary = binary;
        this.intervals = intervals;
        this.hstore = hstore;
        this.values = new DebeziumValues(decimals, times, binary, intervals, hstore);
    }

    /** The schema of the event as compact JSON text. */
    public String of(ChangeEvent event) {
        // Row events and truncates of one table share a schema; messages have their own.
        Op kind = event.op() == Op.MESSAGE ? Op.MESSAGE : Op.CREATE;
        Key key = new Key(event.sourceId(), event.table(), event.columnTypes(), kind);
        String schema = built.get(key);
        if (schema == null) {
            schema = build(key, event);
            if (built.size() < MAX_SCHEMAS) {
                built.put(key, schema);
            }
        }
        return schema;
    }

    private String build(Key key, ChangeEvent event) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("type", "struct");
            g.writeArrayFieldStart("fields");
            String prefix = key.sourceId() + "." + key.table().schema() + "." + key.table().table();
            if (key.kind() == Op.MESSAGE) {
                primitive(g, "string", false, "op");
                primitive(g, "int64", true, "ts_ms");
                source(g);
                transaction(g);
                message(g);
            } else {
                value(g, key, prefix, "before", event);
                value(g, key, prefix, "after", event);
                source(g);
                transaction(g);
                primitive(g, "string", false, "op");
                primitive(g, "int64", true, "ts_ms");
                primitive(g, "int64", true, "ts_us");
                primitive(g, "int64", true, "ts_ns");
            }
            g.writeEndArray();
            g.writeBooleanField("optional", false);
            g.writeStringField("name", key.kind() == Op.MESSAGE ? "io.debezium.connector.postgresql.MessageValue"
                    : prefix + ".Envelope");
            g.writeNumberField("version", key.kind() == Op.MESSAGE ? 1 : 2);
            g.writeEndObject();
        } catch (IOException e) {
            throw new DeltaforgeException("cannot write the Debezium schema of " + key.table() + ": " + e.getMessage(), e);
        }
        return out.toString();
    }

    private void value(JsonGenerator g, Key key, String prefix, String field, ChangeEvent event)
            throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "struct");
        g.writeArrayFieldStart("fields");
        for (ColumnType type : key.types()) {
            if (DebeziumValues.written(type)) {
                Object defaultValue = DebeziumDefaults.of(type, decimals);
                if (defaultValue == null) {
                    column(g, type, type.optional(), type.name());
                } else {
                    columnWithDefault(g, type, defaultValue, event);
                }
            }
        }
        g.writeEndArray();
        g.writeBooleanField("optional", true);
        g.writeStringField("name", prefix + ".Value");
        g.writeStringField("field", field);
        g.writeEndObject();
    }

    /**
     * A column's schema with Connect's {@code default}: written on its own and the default put before its
     * {@code field} name, which every schema of a column ends with. Built once per table shape, so the copy
     * costs nothing per event.
     */
    private void columnWithDefault(JsonGenerator g, ColumnType type, Object defaultValue, ChangeEvent event)
            throws IOException {
        StringWriter schema = new StringWriter();
        try (JsonGenerator c = FACTORY.createGenerator(schema)) {
            column(c, type, type.optional(), type.name());
        }
        JsonBytes v = JsonBytes.forEmbeddedText();
        values.write(v, type, defaultValue, event);
        String value = new String(v.takeBytes(), StandardCharsets.UTF_8);
        String text = schema.toString();
        int field = text.lastIndexOf(",\"field\":");
        g.writeRawValue(text.substring(0, field) + ",\"default\":" + value + text.substring(field));
    }

    /** One column's (or array element's, with {@code field} null) schema. */
    private void column(JsonGenerator g, ColumnType type, boolean optional, @Nullable String field)
            throws IOException {
        String t = type.type();
        if (t.startsWith("_")) {
            g.writeStartObject();
            g.writeStringField("type", "array");
            g.writeFieldName("items");
            column(g, new ColumnType(type.name(), t.substring(1), type.modifier(), type.kind(), true, type.labels()),
                    true, null);
            end(g, optional, null, field);
            return;
        }
        int mod = type.modifier();
        switch (t) {
            case "int2" -> simple(g, "int16", optional, null, field);
            case "int4" -> simple(g, "int32", optional, null, field);
            case "int8", "oid" -> simple(g, "int64", optional, null, field);
            case "bool" -> simple(g, "boolean", optional, null, field);
            case "float4" -> simple(g, "float", optional, null, field);
            case "float8" -> simple(g, "double", optional, null, field);
            case "numeric" -> {
                if (decimals != DebeziumValues.Decimals.PRECISE) {
                    simple(g, decimals == DebeziumValues.Decimals.STRING ? "string" : "double", optional, null, field);
                } else if (mod < 0) {
                    variableScaleDecimal(g, optional, field);
                } else {
                    decimal(g, optional, field, Integer.toString((mod - 4) & 0xffff),
                            Integer.toString(((mod - 4) >> 16) & 0xffff));
                }
            }
            case "money" -> {
                if (decimals != DebeziumValues.Decimals.PRECISE) {
                    simple(g, decimals == DebeziumValues.Decimals.STRING ? "string" : "double", optional, null, field);
                } else {
                    decimal(g, optional, field, "2", null);
                }
            }
            case "uuid" -> simple(g, "string", optional, "io.debezium.data.Uuid", field);
            case "json", "jsonb" -> simple(g, "string", optional, "io.debezium.data.Json", field);
            case "xml" -> simple(g, "string", optional, "io.debezium.data.Xml", field);
            case "tsvector" -> simple(g, "string", optional, "io.debezium.data.Tsvector", field);
            case "bytea" -> simple(g, binary == DebeziumValues.Binary.BYTES ? "bytes" : "string", optional, null, field);
            case "date" -> temporal(g, optional, field, "int32", "io.debezium.time.Date",
                    "org.apache.kafka.connect.data.Date", "io.debezium.time.IsoDate");
            case "time" -> {
                boolean millis = times == DebeziumValues.Times.ADAPTIVE && mod >= 0 && mod <= 3;
                switch (times) {
                    case NANOSECONDS -> simple(g, "int64", optional, "io.debezium.time.NanoTime", field);
                    default -> temporal(g, optional, field, millis ? "int32" : "int64",
                            millis ? "io.debezium.time.Time" : "io.debezium.time.MicroTime",
                            "org.apache.kafka.connect.data.Time", "io.debezium.time.IsoTime");
                }
            }
            case "timestamp" -> {
                boolean millis = (times == DebeziumValues.Times.ADAPTIVE
                        || times == DebeziumValues.Times.ADAPTIVE_TIME_MICROSECONDS) && mod >= 0 && mod <= 3;
                switch (times) {
                    case NANOSECONDS -> simple(g, "int64", optional, "io.debezium.time.NanoTimestamp", field);
                    default -> temporal(g, optional, field, "int64",
                            millis ? "io.debezium.time.Timestamp" : "io.debezium.time.MicroTimestamp",
                            "org.apache.kafka.connect.data.Timestamp", "io.debezium.time.IsoTimestamp");
                }
            }
            case "timetz" -> simple(g, "string", optional, "io.debezium.time.ZonedTime", field);
            case "timestamptz" -> simple(g, "string", optional, "io.debezium.time.ZonedTimestamp", field);
            case "interval" -> {
                if (intervals == DebeziumValues.Intervals.STRING) {
                    simple(g, "string", optional, "io.debezium.time.Interval", field);
                } else {
                    simple(g, "int64", optional, "io.debezium.time.MicroDuration", field);
                }
            }
            case "bit", "varbit" -> {
                if (mod == 1) {
                    simple(g, "boolean", optional, null, field);
                } else {
                    parameterized(g, "bytes", optional, "io.debezium.data.Bits", field,
                            Map.of("length", Integer.toString(mod < 0 ? Integer.MAX_VALUE : mod)));
                }
            }
            case "point" -> point(g, optional, field);
            case "hstore" -> {
                if (hstore == DebeziumValues.Hstore.MAP) {
                    g.writeStartObject();
                    g.writeStringField("type", "map");
                    g.writeFieldName("keys");
                    simple(g, "string", false, null, null);
                    g.writeFieldName("values");
                    simple(g, "string", true, null, null);
                    end(g, optional, null, field);
                } else {
                    simple(g, "string", optional, "io.debezium.data.Json", field);
                }
            }
            default -> {
                if (type.kind() == 'e') {
                    parameterized(g, "string", optional, "io.debezium.data.Enum", field,
                            Map.of("allowed", String.join(",", type.labels())));
                } else {
                    // Text types, network addresses, ranges, "char", name, extension types written as text.
                    simple(g, "string", optional, null, field);
                }
            }
        }
    }

    /** date, time, timestamp: the adaptive schema, Kafka Connect's, or the ISO string's, by the mode. */
    private void temporal(JsonGenerator g, boolean optional, @Nullable String field, String adaptiveType,
                          String adaptiveName, String connectName, String isoName) throws IOException {
        switch (times) {
            case CONNECT -> {
                g.writeStartObject();
                g.writeStringField("type", connectName.endsWith("Timestamp") ? "int64" : "int32");
                g.writeBooleanField("optional", optional);
                g.writeStringField("name", connectName);
                g.writeNumberField("version", 1);
                fieldName(g, field);
            }
            case ISOSTRING -> simple(g, "string", optional, isoName, field);
            default -> simple(g, adaptiveType, optional, adaptiveName, field);
        }
    }

    private static void decimal(JsonGenerator g, boolean optional, @Nullable String field, String scale,
                                @Nullable String precision) throws IOException {
        // Connect writes the scale first, then the precision.
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("scale", scale);
        if (precision != null) {
            parameters.put("connect.decimal.precision", precision);
        }
        parameterized(g, "bytes", optional, "org.apache.kafka.connect.data.Decimal", field, parameters);
    }

    /** A logical type with parameters (all strings, in the map's order), version 1. */
    private static void parameterized(JsonGenerator g, String type, boolean optional, String name,
                                      @Nullable String field, Map<String, String> parameters) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", type);
        g.writeBooleanField("optional", optional);
        g.writeStringField("name", name);
        g.writeNumberField("version", 1);
        g.writeObjectFieldStart("parameters");
        for (Map.Entry<String, String> p : parameters.entrySet()) {
            g.writeStringField(p.getKey(), p.getValue());
        }
        g.writeEndObject();
        fieldName(g, field);
    }

    private static void variableScaleDecimal(JsonGenerator g, boolean optional, @Nullable String field)
            throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "struct");
        g.writeArrayFieldStart("fields");
        primitive(g, "int32", false, "scale");
        primitive(g, "bytes", false, "value");
        g.writeEndArray();
        g.writeBooleanField("optional", optional);
        g.writeStringField("name", "io.debezium.data.VariableScaleDecimal");
        g.writeNumberField("version", 1);
        g.writeStringField("doc", "Variable scaled decimal");
        fieldName(g, field);
    }

    private static void point(JsonGenerator g, boolean optional, @Nullable String field) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "struct");
        g.writeArrayFieldStart("fields");
        primitive(g, "double", false, "x");
        primitive(g, "double", false, "y");
        primitive(g, "bytes", true, "wkb");
        primitive(g, "int32", true, "srid");
        g.writeEndArray();
        g.writeBooleanField("optional", optional);
        g.writeStringField("name", "io.debezium.data.geometry.Point");
        g.writeNumberField("version", 1);
        g.writeStringField("doc", "Geometry (POINT)");
        fieldName(g, field);
    }

    private static void source(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "struct");
        g.writeArrayFieldStart("fields");
        primitive(g, "string", false, "version");
        primitive(g, "string", false, "connector");
        primitive(g, "string", false, "name");
        primitive(g, "int64", false, "ts_ms");
        g.writeStartObject();
        g.writeStringField("type", "string");
        g.writeBooleanField("optional", true);
        g.writeStringField("name", "io.debezium.data.Enum");
        g.writeNumberField("version", 1);
        g.writeObjectFieldStart("parameters");
        g.writeStringField("allowed", "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental");
        g.writeEndObject();
        g.writeStringField("default", "false");
        g.writeStringField("field", "snapshot");
        g.writeEndObject();
        primitive(g, "string", false, "db");
        primitive(g, "string", true, "sequence");
        primitive(g, "int64", true, "ts_us");
        primitive(g, "int64", true, "ts_ns");
        primitive(g, "string", false, "schema");
        primitive(g, "string", false, "table");
        primitive(g, "int64", true, "txId");
        primitive(g, "int64", true, "lsn");
        primitive(g, "int64", true, "xmin");
        primitive(g, "string", true, "origin");
        primitive(g, "int64", true, "origin_lsn");
        g.writeEndArray();
        g.writeBooleanField("optional", false);
        g.writeStringField("name", "io.debezium.connector.postgresql.Source");
        g.writeNumberField("version", 1);
        g.writeStringField("field", "source");
        g.writeEndObject();
    }

    private static void transaction(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "struct");
        g.writeArrayFieldStart("fields");
        primitive(g, "string", false, "id");
        primitive(g, "int64", false, "total_order");
        primitive(g, "int64", false, "data_collection_order");
        g.writeEndArray();
        g.writeBooleanField("optional", true);
        g.writeStringField("name", "event.block");
        g.writeNumberField("version", 1);
        g.writeStringField("field", "transaction");
        g.writeEndObject();
    }

    private void message(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "struct");
        g.writeArrayFieldStart("fields");
        primitive(g, "string", true, "prefix");
        primitive(g, binary == DebeziumValues.Binary.BYTES ? "bytes" : "string", true, "content");
        g.writeEndArray();
        g.writeBooleanField("optional", false);
        g.writeStringField("name", "io.debezium.connector.postgresql.Message");
        g.writeNumberField("version", 1);
        g.writeStringField("field", "message");
        g.writeEndObject();
    }

    private static void simple(JsonGenerator g, String type, boolean optional, @Nullable String name,
                               @Nullable String field) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", type);
        end(g, optional, name, field);
    }

    /** Closes a schema object: {@code optional}, the logical {@code name} (version 1) if any, the {@code field}. */
    private static void end(JsonGenerator g, boolean optional, @Nullable String name, @Nullable String field)
            throws IOException {
        g.writeBooleanField("optional", optional);
        if (name != null) {
            g.writeStringField("name", name);
            g.writeNumberField("version", 1);
        }
        fieldName(g, field);
    }

    private static void fieldName(JsonGenerator g, @Nullable String field) throws IOException {
        if (field != null) {
            g.writeStringField("field", field);
        }
        g.writeEndObject();
    }

    private static void primitive(JsonGenerator g, String type, boolean optional, String field) throws IOException {
        simple(g, type, optional, null, field);
    }
}
