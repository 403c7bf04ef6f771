package io.deltaforge.envelopes;

import static io.deltaforge.envelopes.CloudEventsEnvelopeTest.fieldNames;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ColumnType;
import io.deltaforge.api.Op;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.envelopes.internal.Version;
import io.deltaforge.spi.Message;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class DebeziumEnvelopeTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void writesThePayloadAsDebeziumsPostgresConnectorDoes() throws Exception {
        ChangeEvent event = Events.event(Op.CREATE, null, Events.alice(), 0, Instant.parse("2025-01-15T10:30:00.123456Z"));
        Message m = DebeziumEnvelope.builder().database("app").build().encode(event);

        String expected = """
                {"before":null,
                 "after":{"id":1,"name":"Alice","email":"alice@example.com","created_at":"2025-01-15T10:30:00.000Z"},
                 "source":{"version":"%s","connector":"postgresql","name":"users-postgres","ts_ms":1736937000123,
                           "snapshot":"false","db":"app","sequence":"[null,\\"23803720\\"]",
                           "ts_us":1736937000123456,"ts_ns":1736937000123456000,
                           "schema":"public","table":"users","txId":740,"lsn":23803720,"xmin":null,
                           "origin":null,"origin_lsn":null},
                 "transaction":null,
                 "op":"c","ts_ms":1736937000123,"ts_us":1736937000123456,"ts_ns":1736937000123456000}""".formatted(Version.VERSION);
        JsonNode json = MAPPER.readTree(m.payload());
        assertThat(json).isEqualTo(MAPPER.readTree(expected));
        assertThat(fieldNames(json)).containsExactly("before", "after", "source", "transaction", "op", "ts_ms",
                "ts_us", "ts_ns");
        assertThat(m.contentType()).isEqualTo("application/json");
        assertThat(m.id()).isEqualTo(event.id());
    }

    @Test
    void wrapsThePayloadWhenAsked() throws Exception {
        ChangeEvent event = Events.insert();
        JsonNode wrapped = MAPPER.readTree(DebeziumEnvelope.builder().schemaWrapper(true).build().encode(event).payload());
        assertThat(fieldNames(wrapped)).containsExactly("schema", "payload");
        assertThat(wrapped.get("schema").isNull()).isTrue();
        assertThat(wrapped.get("payload")).isEqualTo(MAPPER.readTree(DebeziumEnvelope.create().encode(event).payload()));
    }

    @Test
    void marksSnapshotReadsAndDefaultsTheDatabaseToEmpty() throws Exception {
        ChangeEvent read = Events.event(Op.READ, null, Events.alice(), 0, Events.COMMITTED);
        JsonNode source = MAPPER.readTree(DebeziumEnvelope.create().encode(read).payload()).get("source");
        assertThat(source.get("snapshot").asText()).isEqualTo("true");
        assertThat(source.get("db").asText()).isEmpty();
    }

    @Test
    void keepsNullAfterForDeletesAndNoRowsForTruncates() throws Exception {
        ChangeEvent delete = Events.event(Op.DELETE, Row.of(List.of("id"), 1L), null, 0, Events.COMMITTED);
        JsonNode json = MAPPER.readTree(DebeziumEnvelope.create().encode(delete).payload());
        assertThat(json.get("after").isNull()).isTrue();
        assertThat(json.get("before").get("id").asLong()).isEqualTo(1);
        assertThat(json.get("op").asText()).isEqualTo("d");

        // Debezium's truncate event has null rows.
        JsonNode truncate = MAPPER.readTree(DebeziumEnvelope.create().encode(Events.truncate(false, false)).payload());
        assertThat(truncate.get("before").isNull()).isTrue();
        assertThat(truncate.get("after").isNull()).isTrue();
        assertThat(truncate.get("op").asText()).isEqualTo("t");
    }

    @Test
    void writesValuesAsDebeziumDoesUnlessLossless() throws Exception {
        List<ColumnType> types = List.of(new ColumnType("id", "int4", -1, 'b'),
                new ColumnType("price", "numeric", ((12 << 16) | 3) + 4, 'b'), new ColumnType("day", "date", -1, 'b'),
                new ColumnType("doc", "jsonb", -1, 'b'), new ColumnType("at", "timestamptz", -1, 'b'),
                new ColumnType("note", "text", -1, 'b'));
        Row after = Row.of(List.of("id", "price", "day", "doc", "at"), 1L, new BigDecimal("0.500"), "1970-01-02",
                new RawJson("{\"a\": 1}"), "2025-01-15T08:30:00.500Z");
        ChangeEvent base = Events.event(Op.UPDATE, null, after, 0, Events.COMMITTED);
        ChangeEvent event = new ChangeEvent(base.id(), base.sourceId(), base.op(), base.table(), null, after,
                base.position(), 1, List.of("note"), null, List.of("id"), types, "app");

        JsonNode debezium = MAPPER.readTree(DebeziumEnvelope.create().encode(event).payload());
        assertThat(debezium.get("after")).isEqualTo(MAPPER.readTree("""
                {"id":1,"price":"AfQ=","day":1,"doc":"{\\"a\\": 1}","at":"2025-01-15T08:30:00.500000Z",
                 "note":"__debezium_unavailable_value"}"""));
        assertThat(debezium.get("source").get("db").asText()).isEqualTo("app");

        JsonNode lossless = MAPPER.readTree(DebeziumEnvelope.builder()
                .valueEncoding(DebeziumEnvelope.ValueEncoding.LOSSLESS).build().encode(event).payload());
        assertThat(lossless.get("after")).isEqualTo(MAPPER.readTree("""
                {"id":1,"price":0.500,"day":"1970-01-02","doc":{"a":1},"at":"2025-01-15T08:30:00.500Z"}"""));

        JsonNode strings = MAPPER.readTree(DebeziumEnvelope.builder()
                .decimalHandlingMode(DebeziumEnvelope.DecimalHandlingMode.STRING).build().encode(event).payload());
        assertThat(strings.get("after").get("price").asText()).isEqualTo("0.500");
    }

    @Test
    void schemasEnableWritesTheConnectSchemaNextToThePayload() throws Exception {
        List<ColumnType> types = List.of(new ColumnType("id", "int4", -1, 'b', false, List.of()),
                new ColumnType("mood", "mood", -1, 'e', true, List.of("sad", "ok")));
        Row after = Row.of(List.of("id", "mood"), 1L, "ok");
        ChangeEvent base = Events.event(Op.CREATE, null, after, 0, Events.COMMITTED);
        ChangeEvent event = new ChangeEvent(base.id(), base.sourceId(), base.op(), base.table(), null, after,
                base.position(), 1, List.of(), null, List.of("id"), types, "app");

        JsonNode message = MAPPER.readTree(DebeziumEnvelope.builder().schemasEnable(true).build().encode(event)
                .payload());

        assertThat(message.get("payload")).isEqualTo(MAPPER.readTree(DebeziumEnvelope.create().encode(event)
                .payload()));
        JsonNode schema = message.get("schema");
        assertThat(schema.get("name").asText()).isEqualTo("users-postgres.public.users.Envelope");
        assertThat(schema.get("fields").get(1).get("name").asText()).isEqualTo("users-postgres.public.users.Value");
        assertThat(schema.get("fields").get(1).get("fields")).isEqualTo(MAPPER.readTree("""
                [{"type":"int32","optional":false,"field":"id"},
                 {"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,
                  "parameters":{"allowed":"sad,ok"},"field":"mood"}]"""));
        assertThatThrownBy(() -> DebeziumEnvelope.builder().schemasEnable(true)
                .valueEncoding(DebeziumEnvelope.ValueEncoding.LOSSLESS).build())
                .hasMessageContaining("schemas_enable needs value_encoding debezium");
    }

    /**
     * A key-only old row (REPLICA IDENTITY DEFAULT) leaves out what is not the key: Debezium writes each column's
     * DEFAULT there (its JSON converter replaces every null with the schema's default), and the zero value of a
     * NOT NULL column without one; with schemas the default is in the column's schema too. Lossless is as read.
     */
    @Test
    void aNullIsTheColumnsDefaultAndTheSchemaNamesIt() throws Exception {
        List<ColumnType> types = List.of(new ColumnType("id", "int4", -1, 'b', false, List.of()),
                new ColumnType("note", "text", -1, 'b', true, List.of(), "'plain'::text"),
                new ColumnType("count", "int4", -1, 'b', false, List.of()),
                new ColumnType("free", "text", -1, 'b', true, List.of()));
        Row keyOnly = Row.of(List.of("id", "note", "count", "free"), 1L, null, null, null);
        ChangeEvent base = Events.event(Op.DELETE, keyOnly, null, 0, Events.COMMITTED);
        ChangeEvent event = new ChangeEvent(base.id(), base.sourceId(), base.op(), base.table(), keyOnly, null,
                base.position(), 1, List.of(), null, List.of("id"), types, "app");

        JsonNode message = MAPPER.readTree(DebeziumEnvelope.builder().schemasEnable(true).build().encode(event)
                .payload());

        assertThat(message.get("payload").get("before")).isEqualTo(MAPPER.readTree("""
                {"id":1,"note":"plain","count":0,"free":null}"""));
        assertThat(message.get("schema").get("fields").get(0).get("fields")).isEqualTo(MAPPER.readTree("""
                [{"type":"int32","optional":false,"field":"id"},
                 {"type":"string","optional":true,"default":"plain","field":"note"},
                 {"type":"int32","optional":false,"field":"count"},
                 {"type":"string","optional":true,"field":"free"}]"""));
        JsonNode lossless = MAPPER.readTree(DebeziumEnvelope.builder()
                .valueEncoding(DebeziumEnvelope.ValueEncoding.LOSSLESS).build().encode(event).payload());
        assertThat(lossless.get("before")).isEqualTo(MAPPER.readTree("""
                {"id":1,"note":null,"count":null,"free":null}"""));
    }

    @Test
    void sameEventGivesTheSameBytes() {
        assertThat(DebeziumEnvelope.create().encode(Events.insert()).payload())
                .isEqualTo(DebeziumEnvelope.create().encode(Events.insert()).payload());
    }

    @Test
    void withTransactionMetadataWritesDebeziumsBeginAndEndEvents() throws Exception {
        DebeziumEnvelope envelope = DebeziumEnvelope.builder().provideTransactionMetadata(true).build();
        Instant commit = Instant.parse("2025-01-15T08:30:00.5Z");
        var begin = new io.deltaforge.spi.TransactionMarker(io.deltaforge.spi.TransactionMarker.Kind.BEGIN, "pg", 740,
                new io.deltaforge.api.Lsn(200), new io.deltaforge.api.Lsn(150), commit, null, 0, java.util.Map.of());
        var counts = new java.util.LinkedHashMap<io.deltaforge.api.TableId, Long>();
        counts.put(new io.deltaforge.api.TableId("public", "users"), 2L);
        counts.put(new io.deltaforge.api.TableId("", "audit"), 1L);
        var end = new io.deltaforge.spi.TransactionMarker(io.deltaforge.spi.TransactionMarker.Kind.END, "pg", 740,
                new io.deltaforge.api.Lsn(200), new io.deltaforge.api.Lsn(248), commit, null, 3, counts);

        Message b = envelope.transactionMarker(begin);
        Message e = envelope.transactionMarker(end);

        assertThat(b.id()).isEqualTo(begin.id()).isNotEqualTo(e.id());
        assertThat(e.id()).isEqualTo(end.id());
        assertThat(new String(b.payload(), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("""
                {"status":"BEGIN","id":"740:150","event_count":null,"data_collections":null,"ts_ms":1736929800500}""");
        assertThat(new String(e.payload(), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("""
                {"status":"END","id":"740:248","event_count":3,"data_collections":[{"data_collection":"public.users",\
                "event_count":2},{"data_collection":"audit","event_count":1}],"ts_ms":1736929800500}""");
        assertThat(b.subject()).as("the sink routes markers").isNull();
        assertThat(DebeziumEnvelope.builder().build().transactionMarker(begin)).as("off by default").isNull();
        JsonNode wrapped = new ObjectMapper().readTree(DebeziumEnvelope.builder().provideTransactionMetadata(true)
                .schemasEnable(true).build().transactionMarker(end).payload());
        assertThat(wrapped.path("schema").path("name").asText())
                .isEqualTo("io.debezium.connector.common.TransactionMetadataValue");
        assertThat(wrapped.path("payload").path("event_count").asLong()).isEqualTo(3);
    }
}
