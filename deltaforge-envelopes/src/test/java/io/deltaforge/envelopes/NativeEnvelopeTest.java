package io.deltaforge.envelopes;

import static io.deltaforge.envelopes.CloudEventsEnvelopeTest.fieldNames;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ConfigException;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.envelopes.internal.Version;
import io.deltaforge.spi.Message;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class NativeEnvelopeTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void writesTheChangeWithItsSourceAndTransaction() throws Exception {
        ChangeEvent event = Events.insert();
        Message m = NativeEnvelope.builder().database("app").build().encode(event);

        String expected = """
                {"id":"%s","before":null,
                 "after":{"id":1,"name":"Alice","email":"alice@example.com","created_at":"2025-01-15T10:30:00.000Z"},
                 "op":"c",
                 "source":{"version":"%s","connector":"postgresql","name":"users-postgres","ts_ms":1736937000000,
                           "db":"app","schema":"public","table":"users","lsn":23803720,"txId":740},
                 "ts_ms":1736937000000,"transaction":{"id":"740","index":0}}"""
                .formatted(event.id(), Version.VERSION);
        JsonNode json = MAPPER.readTree(m.payload());
        assertThat(json).isEqualTo(MAPPER.readTree(expected));
        assertThat(fieldNames(json)).containsExactly("id", "before", "after", "op", "source", "ts_ms", "transaction");
        assertThat(m.contentType()).isEqualTo("application/json");
        assertThat(m.id()).isEqualTo(event.id());
        assertThat(m.headers()).isEmpty();
    }

    @Test
    void leavesOutTheDatabaseWhenNotConfigured() throws Exception {
        JsonNode source = MAPPER.readTree(NativeEnvelope.create().encode(Events.insert()).payload()).get("source");
        assertThat(source.has("db")).isFalse();
    }

    @Test
    void sameEventGivesTheSameBytes() {
        ChangeEvent event = Events.event(Op.UPDATE, Events.alice(), Events.alice(), 4, Events.COMMITTED);
        assertThat(NativeEnvelope.create().encode(event).payload())
                .isEqualTo(NativeEnvelope.create().encode(event).payload());
    }

    @Test
    void keepsNullBeforeAndAfterAndExactDecimals() throws Exception {
        ChangeEvent truncate = Events.event(Op.TRUNCATE, null, null, 2, Events.COMMITTED);
        JsonNode json = MAPPER.readTree(NativeEnvelope.create().encode(truncate).payload());
        assertThat(json.get("before").isNull()).isTrue();
        assertThat(json.get("after").isNull()).isTrue();
        assertThat(json.get("transaction").get("index").asInt()).isEqualTo(2);

        Row row = Row.of(List.of("amount"), new BigDecimal("98765432109876543210.123456789"));
        String text = new String(NativeEnvelope.create().encode(Events.withAfter(row)).payload(), StandardCharsets.UTF_8);
        assertThat(text).contains("\"amount\":98765432109876543210.123456789");
    }

    @Test
    void rejectsABlankDatabase() {
        assertThatThrownBy(() -> NativeEnvelope.builder().database(" ").build())
                .isInstanceOf(ConfigException.class).hasMessageContaining("native.database");
    }
}
