package io.deltaforge.envelopes;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ConfigException;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.envelopes.internal.JsonBytes;
import io.deltaforge.envelopes.internal.JsonOutput;
import io.deltaforge.envelopes.internal.JsonString;
import io.deltaforge.envelopes.internal.Version;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Message;
import java.io.IOException;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * DeltaForge's own JSON shape: the change, where it came from, and its place in its transaction, with no
 * CloudEvents or Kafka Connect wrapping. Content type {@code application/json}.
 *
 * <pre>{@code
 * {"id":"<event id>","before":null,"after":{"id":1,"name":"Alice"},"op":"c",
 *  "source":{"version":"0.1.0","connector":"postgresql","name":"users-postgres","ts_ms":1736937000000,
 *            "db":"app","schema":"public","table":"users","lsn":23803720,"txId":740},
 *  "ts_ms":1736937000000,"transaction":{"id":"740","index":0}}
 * }</pre>
 *
 * <ul>
 *   <li>{@code id} is {@link ChangeEvent#id()}; {@code before}/{@code after} are row objects or null,
 *       always present; {@code op} is the one-letter code.
 *   <li>{@code ts_ms} (both) is the commit time in epoch milliseconds: the output depends on the event
 *       only, so a replay gives the same bytes.
 *   <li>{@code source.db} is present only when {@link Builder#database(String)} is set (the change event
 *       does not carry the database name). {@code lsn} is the change's LSN as a number.
 *   <li>{@code transaction.id} is the transaction id as a string; {@code index} the 0-based position of
 *       the event in it.
 * </ul>
 *
 * <pre>{@code
 * Envelope envelope = NativeEnvelope.create();
 * Envelope named = NativeEnvelope.builder().database("app").build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class NativeEnvelope implements Envelope {
    public static final String CONTENT_TYPE = "application/json";

    private static final JsonString F_ID = new JsonString("id");
    private static final JsonString F_VERSION = new JsonString("version");
    private static final JsonString F_CONNECTOR = new JsonString("connector");
    private static final JsonString F_NAME = new JsonString("name");
    private static final JsonString F_DB = new JsonString("db");
    private static final JsonString F_SCHEMA = new JsonString("schema");
    private static final JsonString F_TABLE = new JsonString("table");
    private static final JsonString F_LSN = new JsonString("lsn");
    private static final JsonString F_TXID = new JsonString("txId");
    private static final JsonString F_TRANSACTION = new JsonString("transaction");
    private static final JsonString F_INDEX = new JsonString("index");

    private static final JsonOutput.Body<NativeEnvelope> BODY = NativeEnvelope::write;
    private final JsonOutput.Writers writers = new JsonOutput.Writers();

    private final @Nullable String database;

    private NativeEnvelope(@Nullable String database) {
        this.database = database;
    }

    /** An envelope without a database name. */
    public static NativeEnvelope create() {
        return new NativeEnvelope(null);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The {@code source.db} value; null when left out. */
    public @Nullable String database() {
        return database;
    }

    @Override
    public Message encode(ChangeEvent event) {
        return new Message(event.id(), Map.of(), CONTENT_TYPE, writers.toBytes(event, this, BODY));
    }

    @Override
    public String toString() {
        return "NativeEnvelope[database=" + database + "]";
    }

    private static void write(JsonBytes g, ChangeEvent event, NativeEnvelope self) throws IOException {
        SourcePosition p = event.position();
        long tsMs = p.commitTime().toEpochMilli();
        g.writeStartObject();
        g.writeFieldName(F_ID);
        g.writeString(event.id());
        JsonOutput.writeChange(g, event);
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
        if (self.database != null) {
            g.writeFieldName(F_DB);
            g.writeString(self.database);
        }
        g.writeFieldName(F_SCHEMA);
        g.writeString(event.table().schema());
        g.writeFieldName(F_TABLE);
        g.writeString(event.table().table());
        g.writeFieldName(F_LSN);
        JsonOutput.writeUnsigned(g, p.lsn().value());
        g.writeFieldName(F_TXID);
        g.writeNumber(p.xid());
        g.writeEndObject();
        g.writeFieldName(JsonOutput.TS_MS);
        g.writeNumber(tsMs);
        g.writeFieldName(F_TRANSACTION);
        g.writeStartObject();
        g.writeFieldName(F_ID);
        g.writeString(Long.toString(p.xid()));
        g.writeFieldName(F_INDEX);
        g.writeNumber(p.indexInTx());
        g.writeEndObject();
        g.writeEndObject();
    }

    /** Configures a {@link NativeEnvelope}; mutable, for one use. */
    public static final class Builder {
        private @Nullable String database;

        private Builder() {
        }

        /** The {@code source.db} value; null (the default) leaves the field out. */
        public Builder database(@Nullable String database) {
            this.database = database;
            return this;
        }

        /** @throws ConfigException when the database name is blank */
        public NativeEnvelope build() {
            if (database != null && database.isBlank()) {
                throw new ConfigException("native.database", "is blank; set the database name or leave it out");
            }
            return new NativeEnvelope(database);
        }
    }
}
