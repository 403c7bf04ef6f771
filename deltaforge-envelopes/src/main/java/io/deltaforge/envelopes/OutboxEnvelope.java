package io.deltaforge.envelopes;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ColumnType;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Op;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.api.TableId;
import io.deltaforge.envelopes.internal.JsonOutput;
import io.deltaforge.envelopes.internal.PercentEncoding;
import io.deltaforge.envelopes.internal.SubjectPattern;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Message;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The transactional outbox pattern, as Debezium's outbox event router does it: the application inserts an
 * event into an outbox table in the same transaction as its business change, and this envelope publishes
 * each inserted row as the event itself.
 *
 * <ul>
 *   <li>only inserts are published; updates, deletes, truncates, snapshot reads, logical messages and
 *       events of other tables (when {@link Builder#table(TableId) table} is set) are left out, and the
 *       source's position moves past them (see {@link Envelope#publishes});</li>
 *   <li>the body is the {@code payload} column as stored: {@code json}/{@code jsonb} text
 *       ({@code application/json}), {@code bytea} bytes ({@code application/octet-stream}), other text
 *       as UTF-8 ({@code text/plain; charset=utf-8}), null as an empty body;</li>
 *   <li>the message id (NATS: {@code Nats-Msg-Id}) is the row's {@code id}, so JetStream de-duplicates
 *       by the application's own event id;</li>
 *   <li>the subject comes from a template such as {@code outbox.event.{aggregatetype}};</li>
 *   <li>every other non-null column is a header named like the column, its value as text.</li>
 * </ul>
 *
 * <pre>{@code
 * Envelope outbox = OutboxEnvelope.builder().table(TableId.parse("public.outbox"))
 *         .subject("orders.{aggregatetype}.{type}").build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class OutboxEnvelope implements Envelope {
    public static final String DEFAULT_SUBJECT = "outbox.event.{aggregatetype}";

    private final @Nullable TableId table;
    private final String idColumn;
    private final String payloadColumn;
    private final @Nullable String contentType;
    private final SubjectPattern subject;

    private OutboxEnvelope(Builder b, SubjectPattern subject) {
        this.table = b.table;
        this.idColumn = b.idColumn;
        this.payloadColumn = b.payloadColumn;
        this.contentType = b.contentType;
        this.subject = subject;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public boolean publishes(ChangeEvent event) {
        return event.op() == Op.CREATE && (table == null || table.equals(event.table()));
    }

    @Override
    public Message encode(ChangeEvent event) {
        Row row = event.after();
        if (!publishes(event) || row == null) {
            throw new IllegalArgumentException("the outbox envelope publishes inserts into "
                    + (table == null ? "the outbox table" : table) + " only, not a " + event.op().code()
                    + " event of " + event.table());
        }
        Object id = row.get(idColumn);
        if (id == null) {
            throw new DeltaforgeException("outbox row of " + event.table() + " (event " + event.id() + ") has no "
                    + "value in id column '" + idColumn + "'; set id_column to the column holding the event id");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        List<String> columns = row.columns();
        for (int i = 0; i < columns.size(); i++) {
            String column = columns.get(i);
            Object value = row.value(i);
            if (value != null && !column.equals(payloadColumn)) {
                headers.put(column, PercentEncoding.headerValue(text(value, event, column)));
            }
        }
        Object payload = row.get(payloadColumn);
        String declared = declaredType(event, payloadColumn);
        String bodyType = "json".equals(declared) || "jsonb".equals(declared) ? "application/json"
                : "bytea".equals(declared) ? "application/octet-stream"
                : payload == null || payload instanceof String ? "text/plain; charset=utf-8" : "application/json";
        // DeltaForge carries bytea as base64 text: the body is the bytes themselves.
        byte[] body = payload == null ? new byte[0]
                : payload instanceof String s && "bytea".equals(declared) ? Base64.getDecoder().decode(s)
                : text(payload, event, payloadColumn).getBytes(StandardCharsets.UTF_8);
        return new Message(text(id, event, idColumn), headers, contentType != null ? contentType : bodyType, body,
                subject.render(row));
    }

    @Override
    public String toString() {
        return "OutboxEnvelope[table=" + table + ", subject=" + subject + "]";
    }

    private static String text(Object value, ChangeEvent event, String column) {
        if (value instanceof String s) {
            return s;
        }
        if (value instanceof RawJson json) {
            return json.json();
        }
        return JsonOutput.valueToJson(value, event, column);
    }

    private static @Nullable String declaredType(ChangeEvent event, String column) {
        for (ColumnType t : event.columnTypes()) {
            if (t.name().equals(column)) {
                return t.type();
            }
        }
        return null;
    }

    /** Configures an {@link OutboxEnvelope}; mutable, for one use. Column names default to Debezium's. */
    public static final class Builder {
        private @Nullable TableId table;
        private String idColumn = "id";
        private String aggregateTypeColumn = "aggregatetype";
        private String aggregateIdColumn = "aggregateid";
        private String typeColumn = "type";
        private String payloadColumn = "payload";
        private String subject = DEFAULT_SUBJECT;
        private @Nullable String contentType;

        private Builder() {
        }

        /** The outbox table; events of other tables are left out. Default null: every table's inserts. */
        public Builder table(@Nullable TableId table) {
            this.table = table;
            return this;
        }

        /** The column whose value is the message id; default {@code id}. */
        public Builder idColumn(String column) {
            this.idColumn = Objects.requireNonNull(column, "column");
            return this;
        }

        /** The column {@code {aggregatetype}} stands for; default {@code aggregatetype}. */
        public Builder aggregateTypeColumn(String column) {
            this.aggregateTypeColumn = Objects.requireNonNull(column, "column");
            return this;
        }

        /** The column {@code {aggregateid}} stands for; default {@code aggregateid}. */
        public Builder aggregateIdColumn(String column) {
            this.aggregateIdColumn = Objects.requireNonNull(column, "column");
            return this;
        }

        /** The column {@code {type}} stands for; default {@code type}. */
        public Builder typeColumn(String column) {
            this.typeColumn = Objects.requireNonNull(column, "column");
            return this;
        }

        /** The column that is the message body; default {@code payload}. */
        public Builder payloadColumn(String column) {
            this.payloadColumn = Objects.requireNonNull(column, "column");
            return this;
        }

        /**
         * The subject template: literal tokens and {@code {aggregatetype}}, {@code {aggregateid}},
         * {@code {type}}; default {@value #DEFAULT_SUBJECT}. In a placeholder's value {@code .}, {@code *},
         * {@code >}, whitespace and control characters become {@code _}, and null or empty becomes {@code _}.
         */
        public Builder subject(String subject) {
            this.subject = Objects.requireNonNull(subject, "subject");
            return this;
        }

        /** The body's content type for every message; default null: chosen by the payload column's type. */
        public Builder contentType(@Nullable String contentType) {
            this.contentType = contentType;
            return this;
        }

        /** Throws {@link IllegalArgumentException} naming the problem when the subject template is not valid. */
        public OutboxEnvelope build() {
            Map<String, String> placeholders = new LinkedHashMap<>();
            placeholders.put("aggregatetype", aggregateTypeColumn);
            placeholders.put("aggregateid", aggregateIdColumn);
            placeholders.put("type", typeColumn);
            return new OutboxEnvelope(this, SubjectPattern.parse(subject, placeholders));
        }
    }
}
