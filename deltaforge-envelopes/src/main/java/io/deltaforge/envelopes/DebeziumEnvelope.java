package io.deltaforge.envelopes;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ColumnType;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.envelopes.internal.DebeziumDefaults;
import io.deltaforge.envelopes.internal.DebeziumSchemas;
import io.deltaforge.envelopes.internal.DebeziumTransactionEvents;
import io.deltaforge.envelopes.internal.DebeziumValues;
import io.deltaforge.envelopes.internal.JsonBytes;
import io.deltaforge.envelopes.internal.JsonOutput;
import io.deltaforge.envelopes.internal.JsonString;
import io.deltaforge.envelopes.internal.TransactionOrder;
import io.deltaforge.envelopes.internal.Version;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.TransactionMarker;
import java.io.IOException;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * A change event exactly as Debezium's PostgreSQL connector writes it with the Kafka Connect JSON converter
 * and {@code schemas.enable=false}, values included, so existing Debezium consumers read DeltaForge output
 * unchanged. Content type {@code application/json}.
 *
 * <pre>{@code
 * {"before":null,"after":{"id":1,"price":"AfQ=","day":20103},
 *  "source":{"version":"0.1.0","connector":"postgresql","name":"users-postgres","ts_ms":1736937000000,
 *            "snapshot":"false","db":"app","sequence":"[\"23803672\",\"23803720\"]",
 *            "ts_us":1736937000000000,"ts_ns":1736937000000000000,"schema":"public","table":"users",
 *            "txId":740,"lsn":23803720,"xmin":null,"origin":null,"origin_lsn":null},
 *  "transaction":null,"op":"c","ts_ms":1736937000000,"ts_us":1736937000000000,"ts_ns":1736937000000000000}
 * }</pre>
 *
 * <p>Values follow Debezium's handling modes ({@link DecimalHandlingMode}, {@link TimePrecisionMode},
 * {@link BinaryHandlingMode}, {@link IntervalHandlingMode}, {@link HstoreHandlingMode}, Debezium's
 * defaults by default); they need the event's {@link ChangeEvent#columnTypes() column types}, and an event
 * without them is written with DeltaForge's values. {@link ValueEncoding#LOSSLESS} writes DeltaForge's
 * lossless values always. {@code source.db} is the event's database unless {@link Builder#database(String)}
 * says otherwise; {@code source.sequence} is {@code [previous commit end, change LSN]}.
 * {@link Builder#schemasEnable(boolean)} adds Debezium's Kafka Connect schema ({@code schemas.enable=true}).
 *
 * <p>Where it differs from Debezium, and why (docs/envelopes.md has the full table, checked by a
 * differential test against Debezium itself): the top-level times are the commit time, not the time of
 * processing, so the same event always gives the same bytes; {@code version} is DeltaForge's; values
 * Debezium loses (a {@code name} column, two-dimensional arrays, infinite dates) are kept;
 * {@code transaction} is null unless {@link Builder#provideTransactionMetadata(boolean)}, which also makes
 * Debezium's transaction BEGIN and END events ({@link #transactionMarker}).
 *
 * <pre>{@code
 * Envelope envelope = DebeziumEnvelope.builder()
 *         .decimalHandlingMode(DebeziumEnvelope.DecimalHandlingMode.STRING).build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class DebeziumEnvelope implements Envelope {
    public static final String CONTENT_TYPE = "application/json";

    private static final int MAX_NULL_FILLS = 4096;
    private static final JsonString F_VERSION = new JsonString("version");
    private static final JsonString F_CONNECTOR = new JsonString("connector");
    private static final JsonString F_NAME = new JsonString("name");
    private static final JsonString F_SNAPSHOT = new JsonString("snapshot");
    private static final JsonString F_DB = new JsonString("db");
    private static final JsonString F_SEQUENCE = new JsonString("sequence");
    private static final JsonString F_TS_US = new JsonString("ts_us");
    private static final JsonString F_TS_NS = new JsonString("ts_ns");
    private static final JsonString F_SCHEMA = new JsonString("schema");
    private static final JsonString F_TABLE = new JsonString("table");
    private static final JsonString F_TXID = new JsonString("txId");
    private static final JsonString F_LSN = new JsonString("lsn");
    private static final JsonString F_XMIN = new JsonString("xmin");
    private static final JsonString F_TRANSACTION = new JsonString("transaction");
    private static final JsonString F_PAYLOAD = new JsonString("payload");

    private static final JsonOutput.Body<DebeziumEnvelope> BODY = DebeziumEnvelope::write;
    private final JsonOutput.Writers writers = new JsonOutput.Writers();

    private static final JsonString F_ORIGIN = new JsonString("origin");
    private static final JsonString F_ORIGIN_LSN = new JsonString("origin_lsn");

    private final boolean schemaWrapper;
    private final @Nullable DebeziumSchemas schemas;
    private final @Nullable TransactionOrder transactions;
    private final String database;
    private final ValueEncoding valueEncoding;
    private final DebeziumValues values;
    /**
     * Per column type, what a null of it is written as ({@link DebeziumDefaults#forNull}), empty for a plain null;
     * at most {@link #MAX_NULL_FILLS} types. Worked out once: a key-only old row is all nulls but its key, and reading a
     * default parses its expression.
     */
    private final Map<ColumnType, Optional<Object>> nullFills = new ConcurrentHashMap<>();

    private DebeziumEnvelope(Builder b) {
        this.schemaWrapper = b.schemaWrapper;
        this.database = b.database;
        this.valueEncoding = b.valueEncoding;
        this.values = new DebeziumValues(b.decimals, b.times, b.binary, b.intervals, b.hstore);
        this.transactions = b.transactionMetadata ? new TransactionOrder() : null;
        this.schemas = b.schemasEnable
                ? new DebeziumSchemas(b.decimals, b.times, b.binary, b.intervals, b.hstore) : null;
    }

    /** How row values are written. */
    public enum ValueEncoding {
        /** As Debezium writes them, shaped by the handling modes; the default. */
        DEBEZIUM,
        /** DeltaForge's lossless mapping (docs/type-mapping.md), as the {@code native} envelope writes them. */
        LOSSLESS
    }

    /** Debezium's {@code decimal.handling.mode}, for numeric and money. */
    public enum DecimalHandlingMode {
        /** Connect {@code Decimal}: base64 of the unscaled value; unconstrained numeric as {scale, value}. */
        PRECISE,
        /** The plain decimal text. */
        STRING,
        /** A JSON number (a double: may lose digits). */
        DOUBLE
    }

    /** Debezium's {@code time.precision.mode}. */
    public enum TimePrecisionMode {
        /** date: days; time/timestamp: milliseconds up to precision 3, else microseconds. */
        ADAPTIVE,
        /** As adaptive, but time always in microseconds. */
        ADAPTIVE_TIME_MICROSECONDS,
        /** Kafka Connect's types: date in days, time and timestamp in milliseconds. */
        CONNECT,
        /** date, time and timestamp as ISO 8601 text marked UTC: {@code 2025-01-15Z}, {@code 10:30:00.5Z}. */
        ISOSTRING,
        /** date: days; time and timestamp in microseconds whatever their precision. */
        MICROSECONDS,
        /** date: days; time and timestamp in nanoseconds. */
        NANOSECONDS
    }

    /** Debezium's {@code binary.handling.mode}, for bytea. */
    public enum BinaryHandlingMode { BYTES, BASE64, BASE64_URL_SAFE, HEX }

    /** Debezium's {@code interval.handling.mode}. */
    public enum IntervalHandlingMode {
        /** Microseconds, a month counted as 365.25 / 12 days. */
        NUMERIC,
        /** ISO 8601 text with every component: {@code P1Y2M-3DT4H5M6.789S}. */
        STRING
    }

    /** Debezium's {@code hstore.handling.mode}. */
    public enum HstoreHandlingMode {
        /** The map as a string holding a JSON object. */
        JSON,
        /** The map as a JSON object. */
        MAP
    }

    /** Bare payload, Debezium's default handling modes. */
    public static DebeziumEnvelope create() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public boolean schemaWrapper() {
        return schemaWrapper;
    }

    /** Whether each message is {@code {"schema":...,"payload":...}} with Debezium's Connect schema. */
    public boolean schemasEnable() {
        return schemas != null;
    }

    /** The configured {@code source.db} value; empty when the event's own database is used. */
    public String database() {
        return database;
    }

    public ValueEncoding valueEncoding() {
        return valueEncoding;
    }

    @Override
    public Message encode(ChangeEvent event) {
        return new Message(event.id(), Map.of(), CONTENT_TYPE, writers.toBytes(event, this, BODY));
    }

    /**
     * With transaction metadata on, Debezium's BEGIN and END event of a transaction (the value it writes to
     * {@code <topic.prefix>.transaction}); null otherwise. In the same form as the events: with the Connect
     * schema under {@code schemas_enable}, wrapped under {@code schema_wrapper}.
     */
    @Override
    public @Nullable Message transactionMarker(TransactionMarker marker) {
        if (transactions == null) {
            return null;
        }
        return new Message(marker.id(), Map.of(), CONTENT_TYPE,
                DebeziumTransactionEvents.write(marker, schemas != null, schemas != null || schemaWrapper));
    }

    @Override
    public String toString() {
        return "DebeziumEnvelope[schemaWrapper=" + schemaWrapper + ", schemasEnable=" + (schemas != null)
                + ", database=" + database + ", valueEncoding="
                + valueEncoding + "]";
    }

    private static void write(JsonBytes g, ChangeEvent event, DebeziumEnvelope self) throws IOException {
        if (self.schemas != null || self.schemaWrapper) {
            g.writeStartObject();
            g.writeFieldName(F_SCHEMA);
            if (self.schemas != null) {
                g.writeRawValue(self.schemas.of(event));
            } else {
                g.writeNull();
            }
            g.writeFieldName(F_PAYLOAD);
            self.writePayload(g, event);
            g.writeEndObject();
        } else {
            self.writePayload(g, event);
        }
    }

    private void writePayload(JsonBytes g, ChangeEvent event) throws IOException {
        Instant t = event.position().commitTime();
        long tsMs = t.toEpochMilli();
        long tsUs = Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000);
        g.writeStartObject();
        if (event.op() == Op.MESSAGE) {
            // Debezium's logical decoding message: no rows, only ts_ms at the top, a "message" block with
            // base64 content.
            g.writeFieldName(JsonOutput.OP);
            g.writeString(event.op().code());
            g.writeFieldName(JsonOutput.TS_MS);
            g.writeNumber(tsMs);
            writeSource(g, event, tsMs, tsUs, t);
            writeTransaction(g, event);
            ChangeEvent.Detail.Message m = event.detail() instanceof ChangeEvent.Detail.Message dm ? dm : null;
            g.writeFieldName(JsonOutput.MESSAGE);
            g.writeStartObject();
            g.writeFieldName(JsonOutput.PREFIX);
            g.writeString(m != null ? m.prefix() : event.table().table());
            g.writeFieldName(JsonOutput.CONTENT);
            byte[] content = m != null ? m.content() : new byte[0];
            g.writeString(valueEncoding == ValueEncoding.LOSSLESS ? Base64.getEncoder().encodeToString(content)
                    : values.encodeBinary(content));
            g.writeEndObject();
        } else {
            // Truncates have null rows, as Debezium writes them.
            g.writeFieldName(JsonOutput.BEFORE);
            writeRow(g, event.before(), event, false);
            g.writeFieldName(JsonOutput.AFTER);
            writeRow(g, event.after(), event, true);
            writeSource(g, event, tsMs, tsUs, t);
            writeTransaction(g, event);
            g.writeFieldName(JsonOutput.OP);
            g.writeString(event.op().code());
            g.writeFieldName(JsonOutput.TS_MS);
            g.writeNumber(tsMs);
            writeMicrosAndNanos(g, t, tsUs);
        }
        g.writeEndObject();
    }

    /**
     * A row as Debezium writes it: every column of the table in table order (a key-only old row has nulls
     * for the others; a null is the column's {@linkplain DebeziumDefaults default}; an unchanged TOASTed value is
     * Debezium's placeholder), types Debezium leaves out left out. Without column types (an event from a
     * source that does not give them) or with lossless values, the row as it is.
     */
    private void writeRow(JsonBytes g, @Nullable Row row, ChangeEvent event, boolean after) throws IOException {
        List<ColumnType> types = event.columnTypes();
        if (row == null || valueEncoding == ValueEncoding.LOSSLESS || types.isEmpty()) {
            JsonOutput.writeRow(g, row, event);
            return;
        }
        g.writeStartObject();
        for (ColumnType type : types) {
            if (!DebeziumValues.written(type)) {
                continue;
            }
            g.writeFieldName(type.name());
            Object value = row.get(type.name());
            if (value != null) {
                values.write(g, type, value, event);
            } else if (after && !row.hasColumn(type.name()) && event.unchangedColumns().contains(type.name())) {
                // With REPLICA IDENTITY FULL the old row has the value the server did not send again.
                Row before = event.before();
                Object old = before == null ? null : before.get(type.name());
                if (old != null) {
                    values.write(g, type, old, event);
                } else {
                    values.writeUnavailable(g, type);
                }
            } else {
                // Null, or left out of a key-only old row: Debezium writes the column's default instead.
                Object filled = nullFill(type);
                if (filled != null) {
                    values.write(g, type, filled, event);
                } else {
                    g.writeNull();
                }
            }
        }
        g.writeEndObject();
    }

    private @Nullable Object nullFill(ColumnType type) {
        if (type.defaultExpression() == null && type.optional()) {
            return null;
        }
        Optional<Object> fill = nullFills.get(type);
        if (fill == null) {
            fill = Optional.ofNullable(DebeziumDefaults.forNull(type, values.decimals()));
            if (nullFills.size() < MAX_NULL_FILLS) {
                nullFills.put(type, fill);
            }
        }
        return fill.orElse(null);
    }

    /**
     * Debezium's {@code transaction} block with transaction metadata on: for events of a transaction, not for
     * snapshot reads or a non-transactional message.
     */
    private void writeTransaction(JsonBytes g, ChangeEvent event) throws IOException {
        g.writeFieldName(F_TRANSACTION);
        boolean transactional = event.op() != Op.READ && !(event.detail() instanceof ChangeEvent.Detail.Message m
                && !m.transactional());
        if (transactions == null || !transactional) {
            g.writeNull();
            return;
        }
        TransactionOrder.Block block = transactions.of(event);
        g.writeStartObject();
        g.writeStringField("id", block.id());
        g.writeNumberField("total_order", block.totalOrder());
        g.writeNumberField("data_collection_order", block.dataCollectionOrder());
        g.writeEndObject();
    }

    private void writeSource(JsonBytes g, ChangeEvent event, long tsMs, long tsUs, Instant t)
            throws IOException {
        SourcePosition p = event.position();
        boolean message = event.op() == Op.MESSAGE;
        g.writeFieldName(JsonOutput.SOURCE);
        g.writeStartObject();
        g.writeFieldName(F_VERSION);
        g.writeString(Version.VERSION);
        g.writeFieldName(F_CONNECTOR);
        g.writeString("postgresql");
        g.writeFieldName(F_NAME);
        g.writeString(event.sourceId());
        g.writeFieldName(JsonOutput.TS_MS);
        g.writeNumber(tsMs);
        g.writeFieldName(F_SNAPSHOT);
        g.writeString(event.op() == Op.READ ? "true" : "false");
        g.writeFieldName(F_DB);
        g.writeString(database.isEmpty() ? event.database() : database);
        g.writeFieldName(F_SEQUENCE);
        Lsn previous = p.previousCommitEnd();
        g.writeString("[" + (previous == null ? "null" : "\"" + JsonOutput.decimal(previous) + "\"") + ",\""
                + JsonOutput.decimal(p.lsn()) + "\"]");
        writeMicrosAndNanos(g, t, tsUs);
        g.writeFieldName(F_SCHEMA);
        g.writeString(message ? "" : event.table().schema());
        g.writeFieldName(F_TABLE);
        g.writeString(message ? "" : event.table().table());
        g.writeFieldName(F_TXID);
        if (message && event.detail() instanceof ChangeEvent.Detail.Message m && !m.transactional()) {
            g.writeNull();
        } else {
            g.writeNumber(p.xid());
        }
        g.writeFieldName(F_LSN);
        JsonOutput.writeUnsigned(g, p.lsn().value());
        g.writeFieldName(F_XMIN);
        g.writeNull();
        ChangeEvent.Origin origin = event.origin();
        g.writeFieldName(F_ORIGIN);
        if (origin == null) {
            g.writeNull();
        } else {
            g.writeString(origin.name());
        }
        g.writeFieldName(F_ORIGIN_LSN);
        if (origin == null) {
            g.writeNull();
        } else {
            JsonOutput.writeUnsigned(g, origin.commitLsn().value());
        }
        g.writeEndObject();
    }

    private static void writeMicrosAndNanos(JsonBytes g, Instant t, long tsUs) throws IOException {
        g.writeFieldName(F_TS_US);
        g.writeNumber(tsUs);
        g.writeFieldName(F_TS_NS);
        try {
            g.writeNumber(Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000_000L), t.getNano()));
        } catch (ArithmeticException beyond2262) {
            // Epoch nanoseconds leave the long range in 2262; stay exact rather than fail the event.
            g.writeNumber(java.math.BigInteger.valueOf(t.getEpochSecond()).multiply(java.math.BigInteger.valueOf(1_000_000_000L))
                    .add(java.math.BigInteger.valueOf(t.getNano())));
        }
    }

    /** Configures a {@link DebeziumEnvelope}; mutable, for one use. */
    public static final class Builder {
        private boolean schemaWrapper;
        private boolean schemasEnable;
        private boolean transactionMetadata;
        private String database = "";
        private ValueEncoding valueEncoding = ValueEncoding.DEBEZIUM;
        private DebeziumValues.Decimals decimals = DebeziumValues.Decimals.PRECISE;
        private DebeziumValues.Times times = DebeziumValues.Times.ADAPTIVE;
        private DebeziumValues.Binary binary = DebeziumValues.Binary.BYTES;
        private DebeziumValues.Intervals intervals = DebeziumValues.Intervals.NUMERIC;
        private DebeziumValues.Hstore hstore = DebeziumValues.Hstore.JSON;

        private Builder() {
        }

        /** Wraps the payload as {@code {"schema":null,"payload":...}}; default false. */
        public Builder schemaWrapper(boolean schemaWrapper) {
            this.schemaWrapper = schemaWrapper;
            return this;
        }

        /**
         * Debezium's {@code provide.transaction.metadata}: each event of a transaction gets the
         * {@code transaction} block ({@code id} {@code <txId>:<the event's LSN>}, {@code total_order},
         * {@code data_collection_order}). Default false ({@code transaction} null). The places are counted as
         * the events are encoded, in log order, as the engine does. Each transaction also gets Debezium's BEGIN
         * and END events ({@link DebeziumEnvelope#transactionMarker}), which the NATS sink publishes on its
         * {@code transaction_subject}.
         */
        public Builder provideTransactionMetadata(boolean provide) {
            this.transactionMetadata = provide;
            return this;
        }

        /**
         * Writes each message as Debezium's JSON converter does with {@code schemas.enable=true}:
         * {@code {"schema":<the Connect schema>,"payload":...}}, the schema naming Debezium's types
         * ({@code io.debezium.time.MicroTimestamp}, {@code org.apache.kafka.connect.data.Decimal}, ...) and
         * {@code <source id>.<schema>.<table>.Envelope}. Default false. Needs Debezium values
         * ({@link ValueEncoding#DEBEZIUM}).
         */
        public Builder schemasEnable(boolean schemasEnable) {
            this.schemasEnable = schemasEnable;
            return this;
        }

        /**
         * The {@code source.db} value; never null. Default empty: each event's own database
         * ({@link ChangeEvent#database()}), as Debezium writes it.
         */
        public Builder database(String database) {
            this.database = Objects.requireNonNull(database, "database");
            return this;
        }

        /** Debezium's values (default) or DeltaForge's lossless ones; never null. */
        public Builder valueEncoding(ValueEncoding valueEncoding) {
            this.valueEncoding = Objects.requireNonNull(valueEncoding, "valueEncoding");
            return this;
        }

        /** Default {@link DecimalHandlingMode#PRECISE}; never null. */
        public Builder decimalHandlingMode(DecimalHandlingMode mode) {
            this.decimals = DebeziumValues.Decimals.valueOf(Objects.requireNonNull(mode, "mode").name());
            return this;
        }

        /** Default {@link TimePrecisionMode#ADAPTIVE}; never null. */
        public Builder timePrecisionMode(TimePrecisionMode mode) {
            this.times = DebeziumValues.Times.valueOf(Objects.requireNonNull(mode, "mode").name());
            return this;
        }

        /** Default {@link BinaryHandlingMode#BYTES}; never null. */
        public Builder binaryHandlingMode(BinaryHandlingMode mode) {
            this.binary = DebeziumValues.Binary.valueOf(Objects.requireNonNull(mode, "mode").name());
            return this;
        }

        /** Default {@link IntervalHandlingMode#NUMERIC}; never null. */
        public Builder intervalHandlingMode(IntervalHandlingMode mode) {
            this.intervals = DebeziumValues.Intervals.valueOf(Objects.requireNonNull(mode, "mode").name());
            return this;
        }

        /** Default {@link HstoreHandlingMode#JSON}; never null. */
        public Builder hstoreHandlingMode(HstoreHandlingMode mode) {
            this.hstore = DebeziumValues.Hstore.valueOf(Objects.requireNonNull(mode, "mode").name());
            return this;
        }

        /** Throws {@link IllegalArgumentException} for schemas with lossless values, which have no Connect schema. */
        public DebeziumEnvelope build() {
            if (schemasEnable && valueEncoding == ValueEncoding.LOSSLESS) {
                throw new IllegalArgumentException("schemas_enable needs value_encoding debezium: DeltaForge's lossless"
                        + " values have no Connect schema; use schema_wrapper for {\"schema\":null,...}");
            }
            return new DebeziumEnvelope(this);
        }
    }
}
