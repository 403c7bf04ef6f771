package io.deltaforge.envelopes;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.envelopes.internal.Version;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * The change event values of Debezium's PostgreSQL connector documentation (table {@code customers}:
 * id, first_name, last_name, email; REPLICA IDENTITY DEFAULT), written as the JSON converter with
 * {@code schemas.enable=false} prints them, for the same rows. Only what cannot be the same is adapted:
 * the version, the connector name (the source id), and the times and positions of our rows. The differential
 * test against real Debezium ({@code examples/debezium-compat}) covers every type and knob.
 */
class DebeziumDocumentedEventsTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final TableId CUSTOMERS = new TableId("public", "customers");
    private static final List<String> COLUMNS = List.of("id", "first_name", "last_name", "email");
    private static final Instant COMMITTED = Instant.parse("2019-05-28T09:11:44.863Z");
    private static final Lsn COMMIT = new Lsn(24023128L);
    private static final Lsn LSN = new Lsn(24023119L);
    private final DebeziumEnvelope envelope = DebeziumEnvelope.builder().database("postgres").build();

    /** The documentation's source block, for our position and connector name. */
    private static String source(String snapshot, String schema, String table, String txId) {
        return """
                {"version":"%s","connector":"postgresql","name":"PostgreSQL_server","ts_ms":1559034704863,
                 "snapshot":"%s","db":"postgres","sequence":"[\\"24023128\\",\\"24023119\\"]",
                 "ts_us":1559034704863000,"ts_ns":1559034704863000000,
                 "schema":"%s","table":"%s","txId":%s,"lsn":24023119,"xmin":null,
                 "origin":null,"origin_lsn":null}"""
                .formatted(Version.VERSION, snapshot, schema, table, txId);
    }

    private static final String TIMES = "\"ts_ms\":1559034704863,\"ts_us\":1559034704863000,\"ts_ns\":1559034704863000000";

    @Test
    void createEventMatchesTheDocumentation() throws Exception {
        assertPayload(event(Op.CREATE, null, anne("Anne"), null), """
                {"before":null,
                 "after":{"id":1,"first_name":"Anne","last_name":"Kretchmar","email":"annek@noanswer.org"},
                 "source":%s,"op":"c",%s,"transaction":null}""".formatted(source("false", "public", "customers", "555"), TIMES));
    }

    @Test
    void updateEventMatchesTheDocumentation() throws Exception {
        // REPLICA IDENTITY DEFAULT and an unchanged key: no old row.
        assertPayload(event(Op.UPDATE, null, anne("Anne Marie"), null), """
                {"before":null,
                 "after":{"id":1,"first_name":"Anne Marie","last_name":"Kretchmar","email":"annek@noanswer.org"},
                 "source":%s,"op":"u",%s,"transaction":null}""".formatted(source("false", "public", "customers", "555"), TIMES));
    }

    @Test
    void deleteEventMatchesTheDocumentation() throws Exception {
        // REPLICA IDENTITY DEFAULT: the old row holds the primary key only.
        assertPayload(event(Op.DELETE, Row.of(List.of("id"), 1L), null, null), """
                {"before":{"id":1},"after":null,
                 "source":%s,"op":"d",%s,"transaction":null}""".formatted(source("false", "public", "customers", "555"), TIMES));
    }

    @Test
    void snapshotReadMatchesTheDocumentation() throws Exception {
        assertPayload(event(Op.READ, null, anne("Anne"), null), """
                {"before":null,
                 "after":{"id":1,"first_name":"Anne","last_name":"Kretchmar","email":"annek@noanswer.org"},
                 "source":%s,"op":"r",%s,"transaction":null}""".formatted(source("true", "public", "customers", "555"), TIMES));
    }

    @Test
    void truncateEventHasNoRowsAsInTheDocumentation() throws Exception {
        ChangeEvent truncate = event(Op.TRUNCATE, null, null, new ChangeEvent.Detail.Truncate(false, false));
        assertPayload(truncate, """
                {"before":null,"after":null,"source":%s,"op":"t",%s,"transaction":null}"""
                .formatted(source("false", "public", "customers", "555"), TIMES));
    }

    @Test
    void logicalDecodingMessageMatchesTheDocumentation() throws Exception {
        // SELECT pg_logical_emit_message(true, 'foo', 'bar'): content "bar" is base64 "YmFy".
        ChangeEvent transactional = new ChangeEvent(EventIds.forChange("PostgreSQL_server", COMMIT, 0),
                "PostgreSQL_server", Op.MESSAGE, new TableId("", "foo"), null, null,
                new SourcePosition(COMMIT, LSN, 0, 555, COMMITTED, COMMIT), 0, List.of(),
                new ChangeEvent.Detail.Message("foo", "bar".getBytes(StandardCharsets.UTF_8), true));
        assertPayload(transactional, """
                {"op":"m","ts_ms":1559034704863,"source":%s,"transaction":null,
                 "message":{"prefix":"foo","content":"YmFy"}}"""
                .formatted(source("false", "", "", "555")));

        // A non-transactional message belongs to no transaction: txId is null.
        ChangeEvent alone = new ChangeEvent(transactional.id(), "PostgreSQL_server", Op.MESSAGE,
                new TableId("", "foo"), null, null, transactional.position(), 0, List.of(),
                new ChangeEvent.Detail.Message("foo", "bar".getBytes(StandardCharsets.UTF_8), false));
        assertThat(payload(DebeziumEnvelope.builder().database("postgres").build(), alone).get("source").get("txId").isNull())
                .isTrue();
    }

    @Test
    void schemaWrapperPutsTheSamePayloadUnderPayload() throws Exception {
        ChangeEvent create = event(Op.CREATE, null, anne("Anne"), null);
        JsonNode wrapped = MAPPER.readTree(DebeziumEnvelope.builder().database("postgres").schemaWrapper(true).build()
                .encode(create).payload());
        assertThat(CloudEventsEnvelopeTest.fieldNames(wrapped)).containsExactly("schema", "payload");
        assertThat(wrapped.get("payload")).isEqualTo(payload(envelope, create));
    }

    private void assertPayload(ChangeEvent event, String expected) throws Exception {
        assertThat(payload(envelope, event)).isEqualTo(MAPPER.readTree(expected));
    }

    private static JsonNode payload(DebeziumEnvelope e, ChangeEvent event) throws Exception {
        return MAPPER.readTree(e.encode(event).payload());
    }

    private static Row anne(String firstName) {
        return Row.of(COLUMNS, 1L, firstName, "Kretchmar", "annek@noanswer.org");
    }

    private static ChangeEvent event(Op op, @Nullable Row before, @Nullable Row after, ChangeEvent.@Nullable Detail detail) {
        return new ChangeEvent(EventIds.forChange("PostgreSQL_server", COMMIT, 0), "PostgreSQL_server", op, CUSTOMERS,
                before, after, new SourcePosition(COMMIT, LSN, 0, 555, COMMITTED, COMMIT), 0, List.of(), detail);
    }
}
