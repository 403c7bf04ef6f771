package io.deltaforge.envelopes;

import static io.deltaforge.envelopes.CloudEventsEnvelopeTest.fieldNames;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.envelopes.internal.Version;
import io.deltaforge.spi.Message;
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
                           "snapshot":"false","db":"app","sequence":"[\\"23803792\\",\\"23803720\\"]",
                           "ts_us":1736937000123456,"ts_ns":1736937000123456000,
                           "schema":"public","table":"users","txId":740,"lsn":23803720,"xmin":null},
                 "op":"c","ts_ms":1736937000123,"ts_us":1736937000123456,"ts_ns":1736937000123456000,
                 "transaction":null}""".formatted(Version.VERSION);
        JsonNode json = MAPPER.readTree(m.payload());
        assertThat(json).isEqualTo(MAPPER.readTree(expected));
        assertThat(fieldNames(json)).containsExactly("before", "after", "source", "op", "ts_ms", "ts_us", "ts_ns",
                "transaction");
        assertThat(MAPPER.readTree(json.get("source").get("sequence").asText()))
                .isEqualTo(MAPPER.readTree("[\"23803792\",\"23803720\"]"));
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

        // Debezium's truncate event carries no rows at all.
        JsonNode truncate = MAPPER.readTree(DebeziumEnvelope.create().encode(Events.truncate(false, false)).payload());
        assertThat(truncate.has("before")).isFalse();
        assertThat(truncate.has("after")).isFalse();
        assertThat(truncate.get("op").asText()).isEqualTo("t");
    }

    @Test
    void sameEventGivesTheSameBytes() {
        assertThat(DebeziumEnvelope.create().encode(Events.insert()).payload())
                .isEqualTo(DebeziumEnvelope.create().encode(Events.insert()).payload());
    }
}
