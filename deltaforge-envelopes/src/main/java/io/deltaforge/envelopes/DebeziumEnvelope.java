package io.deltaforge.envelopes;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.SerializedString;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Op;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.envelopes.internal.JsonOutput;
import io.deltaforge.envelopes.internal.Version;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Message;
import java.io.IOException;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;

/**
 * The value of a change event as Debezium's PostgreSQL connector writes it with the Kafka Connect JSON
 * converter and {@code schemas.enable=false}, so existing Debezium consumers can read DeltaForge output.
 * Content type {@code application/json}.
 *
 * <pre>{@code
 * {"before":null,"after":{"id":1,"name":"Alice"},
 *  "source":{"version":"0.1.0","connector":"postgresql","name":"users-postgres","ts_ms":1736937000000,
 *            "snapshot":"false","db":"app","sequence":"[\"23803792\",\"23803720\"]",
 *            "ts_us":1736937000000000,"ts_ns":1736937000000000000,"schema":"public","table":"users",
 *            "txId":740,"lsn":23803720,"xmin":null},
 *  "op":"c","ts_ms":1736937000000,"ts_us":1736937000000000,"ts_ns":1736937000000000000,"transaction":null}
 * }</pre>
 *
 * <p>Where it differs from Debezium, and why:
 * <ul>
 *   <li>{@code version} is the DeltaForge version; {@code name} is the source id.
 *   <li>The top-level {@code ts_ms}/{@code ts_us}/{@code ts_ns} are the commit time, not the time of
 *       processing, so the same event always gives the same bytes (replays de-duplicate).
 *   <li>{@code sequence} is {@code ["<commit LSN>","<change LSN>"]} in decimal; Debezium's first element
 *       is the previous commit's LSN, which a change event does not carry.
 *   <li>{@code snapshot} is {@code "true"} for snapshot reads ({@code op: r}), else {@code "false"}.
 *   <li>{@code db} is the configured {@link Builder#database(String) database}, or {@code ""}.
 *   <li>Row values use DeltaForge's mapping (numbers as JSON numbers, decimals exact, times as RFC 3339
 *       text, json embedded), not Kafka Connect's logical types (epoch micros, base64 decimals).
 *   <li>{@link Builder#schemaWrapper(boolean) schemaWrapper} gives {@code {"schema":null,"payload":...}},
 *       the {@code schemas.enable=true} layout without the schema: generating Connect schemas is not done.
 *   <li>{@code transaction} is always null: Debezium fills it only with
 *       {@code provide.transaction.metadata}, whose per-table counters a single event cannot know.
 * </ul>
 *
 * <p>Truncates and logical decoding messages take Debezium's shapes for them: a truncate
 * ({@code op: t}) has {@code source}, {@code op}, the times and {@code transaction}, and no
 * {@code before}/{@code after}; a message ({@code op: m}) has {@code op}, the times, {@code source}
 * (with empty {@code schema} and {@code table}, and {@code txId} null when the message was not
 * transactional) and {@code "message":{"prefix":"..","content":"<base64>"}}.
 *
 * <pre>{@code
 * Envelope envelope = DebeziumEnvelope.builder().database("app").build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class DebeziumEnvelope implements Envelope {
    public static final String CONTENT_TYPE = "application/json";

    private static final SerializedString F_VERSION = new SerializedString("version");
    private static final SerializedString F_CONNECTOR = new SerializedString("connector");
    private static final SerializedString F_NAME = new SerializedString("name");
    private static final SerializedString F_SNAPSHOT = new SerializedString("snapshot");
    private static final SerializedString F_DB = new SerializedString("db");
    private static final SerializedString F_SEQUENCE = new SerializedString("sequence");
    private static final SerializedString F_TS_US = new SerializedString("ts_us");
    private static final SerializedString F_TS_NS = new SerializedString("ts_ns");
    private static final SerializedString F_SCHEMA = new SerializedString("schema");
    private static final SerializedString F_TABLE = new SerializedString("table");
    private static final SerializedString F_TXID = new SerializedString("txId");
    private static final SerializedString F_LSN = new SerializedString("lsn");
    private static final SerializedString F_XMIN = new SerializedString("xmin");
    private static final SerializedString F_TRANSACTION = new SerializedString("transaction");
    private static final SerializedString F_PAYLOAD = new SerializedString("payload");

    private static final JsonOutput.Body<DebeziumEnvelope> BODY = DebeziumEnvelope::write;
    private final JsonOutput.Writers writers = new JsonOutput.Writers();

    private final boolean schemaWrapper;
    private final String database;

    private DebeziumEnvelope(boolean schemaWrapper, String database) {
        this.schemaWrapper = schemaWrapper;
        this.database = database;
    }

    /** Bare payload, {@code db} empty. */
    public static DebeziumEnvelope create() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public boolean schemaWrapper() {
        return schemaWrapper;
    }

    /** The {@code source.db} value; empty when not configured. */
    public String database() {
        return database;
    }

    @Override
    public Message encode(ChangeEvent event) {
        return new Message(event.id(), Map.of(), CONTENT_TYPE, writers.toBytes(event, this, BODY));
    }

    @Override
    public String toString() {
        return "DebeziumEnvelope[schemaWrapper=" + schemaWrapper + ", database=" + database + "]";
    }

    private static void write(JsonGenerator g, ChangeEvent event, DebeziumEnvelope self) throws IOException {
        if (self.schemaWrapper) {
            g.writeStartObject();
            g.writeFieldName(F_SCHEMA);
            g.writeNull();
            g.writeFieldName(F_PAYLOAD);
            writePayload(g, event, self.database);
            g.writeEndObject();
        } else {
            writePayload(g, event, self.database);
        }
    }

    private static void writePayload(JsonGenerator g, ChangeEvent event, String database) throws IOException {
        Instant t = event.position().commitTime();
        long tsMs = t.toEpochMilli();
        long tsUs = Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000);
        g.writeStartObject();
        if (event.op() == Op.MESSAGE) {
            // Debezium's logical decoding message: no rows, a "message" block with base64 content.
            g.writeFieldName(JsonOutput.OP);
            g.writeString(event.op().code());
            writeTimes(g, t, tsMs, tsUs);
            writeSource(g, event, database, tsMs, tsUs, t);
            ChangeEvent.Detail.Message m = event.detail() instanceof ChangeEvent.Detail.Message dm ? dm : null;
            g.writeFieldName(JsonOutput.MESSAGE);
            g.writeStartObject();
            g.writeFieldName(JsonOutput.PREFIX);
            g.writeString(m != null ? m.prefix() : event.table().table());
            g.writeFieldName(JsonOutput.CONTENT);
            g.writeString(Base64.getEncoder().encodeToString(m != null ? m.content() : new byte[0]));
            g.writeEndObject();
        } else if (event.op() == Op.TRUNCATE) {
            // Debezium's truncate event has no before/after.
            writeSource(g, event, database, tsMs, tsUs, t);
            g.writeFieldName(JsonOutput.OP);
            g.writeString(event.op().code());
            writeTimes(g, t, tsMs, tsUs);
            g.writeFieldName(F_TRANSACTION);
            g.writeNull();
        } else {
            g.writeFieldName(JsonOutput.BEFORE);
            JsonOutput.writeRow(g, event.before(), event);
            g.writeFieldName(JsonOutput.AFTER);
            JsonOutput.writeRow(g, event.after(), event);
            writeSource(g, event, database, tsMs, tsUs, t);
            g.writeFieldName(JsonOutput.OP);
            g.writeString(event.op().code());
            writeTimes(g, t, tsMs, tsUs);
            g.writeFieldName(F_TRANSACTION);
            g.writeNull();
        }
        g.writeEndObject();
    }

    private static void writeTimes(JsonGenerator g, Instant t, long tsMs, long tsUs) throws IOException {
        g.writeFieldName(JsonOutput.TS_MS);
        g.writeNumber(tsMs);
        writeMicrosAndNanos(g, t, tsUs);
    }

    private static void writeSource(JsonGenerator g, ChangeEvent event, String database, long tsMs, long tsUs,
                                    Instant t) throws IOException {
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
        g.writeString(database);
        g.writeFieldName(F_SEQUENCE);
        g.writeString("[\"" + JsonOutput.decimal(p.commitLsn()) + "\",\"" + JsonOutput.decimal(p.lsn()) + "\"]");
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
        g.writeEndObject();
    }

    private static void writeMicrosAndNanos(JsonGenerator g, Instant t, long tsUs) throws IOException {
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
        private String database = "";

        private Builder() {
        }

        /** Wraps the payload as {@code {"schema":null,"payload":...}}; default false. */
        public Builder schemaWrapper(boolean schemaWrapper) {
            this.schemaWrapper = schemaWrapper;
            return this;
        }

        /** The {@code source.db} value; never null, default empty. */
        public Builder database(String database) {
            this.database = Objects.requireNonNull(database, "database");
            return this;
        }

        public DebeziumEnvelope build() {
            return new DebeziumEnvelope(schemaWrapper, database);
        }
    }
}
