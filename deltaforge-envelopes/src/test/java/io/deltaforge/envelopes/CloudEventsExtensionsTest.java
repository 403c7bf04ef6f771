package io.deltaforge.envelopes;

import static io.deltaforge.envelopes.CloudEventsEnvelopeTest.assertSameEvent;
import static io.deltaforge.envelopes.CloudEventsEnvelopeTest.fieldNames;
import static io.deltaforge.envelopes.CloudEventsEnvelopeTest.readStructured;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudevents.CloudEvent;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Op;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.api.TableId;
import io.deltaforge.envelopes.CloudEventsEnvelope.Mode;
import io.deltaforge.envelopes.CloudEventsEnvelope.StandardExtension;
import io.deltaforge.spi.Message;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CloudEventsExtensionsTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final List<String> MEMBER_COLUMNS = List.of("user_id", "group_id", "role");

    @Test
    void eachStandardExtensionCanBeSwitchedOffAlone() throws Exception {
        for (StandardExtension off : StandardExtension.values()) {
            CloudEventsEnvelope e = CloudEventsEnvelope.builder().typePrefix("com.acme.users").tenant("acme")
                    .enable(off, false).build();
            JsonNode json = MAPPER.readTree(e.encode(Events.insert()).payload());
            for (StandardExtension ext : StandardExtension.values()) {
                assertThat(json.has(ext.attribute())).as("%s with %s off", ext, off).isEqualTo(ext != off);
            }
            assertThat(e.isEnabled(off)).isFalse();
        }
    }

    @Test
    void withEveryStandardExtensionOffOnlyTheCoreAttributesRemain() throws Exception {
        CloudEventsEnvelope.Builder b = CloudEventsEnvelope.builder().typePrefix("com.acme.users").tenant("acme")
                .mode(Mode.BINARY);
        for (StandardExtension ext : StandardExtension.values()) {
            b.enable(ext, false);
        }
        CloudEventsEnvelope e = b.build();
        Message m = e.encode(Events.insert());
        assertThat(m.headers()).containsOnlyKeys("ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time",
                "ce-datacontenttype", "ce-subject");
        assertSameEvent(new CloudEventsEnvelopeTest.NatsHeadersReader(m.headers(), m.payload()).toEvent(),
                e.toCloudEvent(Events.insert()));
    }

    @Test
    void partitionKeyIsTheIdColumnForEveryOpOfTheSameRow() throws Exception {
        CloudEventsEnvelope e = CloudEventsEnvelope.withTypePrefix("com.acme.users");
        Row keyOnly = Row.of(List.of("id"), 1L);
        for (ChangeEvent event : List.of(Events.insert(),
                Events.event(Op.UPDATE, null, Events.alice(), 1, Events.COMMITTED),
                Events.event(Op.DELETE, keyOnly, null, 2, Events.COMMITTED),
                Events.event(Op.READ, null, Events.alice(), 0, Events.COMMITTED))) {
            assertThat(MAPPER.readTree(e.encode(event).payload()).get("partitionkey").asText())
                    .as(event.op().name()).isEqualTo("1");
        }
    }

    @Test
    void partitionKeyUsesConfiguredColumnsAsAJsonArrayInKeyOrder() throws Exception {
        TableId members = new TableId("public", "memberships");
        CloudEventsEnvelope e = CloudEventsEnvelope.builder().typePrefix("com.acme")
                .keyColumns(members, List.of("group_id", "user_id")).build();
        Row row = Row.of(MEMBER_COLUMNS, 7L, "eu", "admin");
        ChangeEvent insert = Events.event(members, Op.CREATE, null, row, 0, Events.COMMITTED);
        ChangeEvent delete = Events.event(members, Op.DELETE, Row.of(List.of("user_id", "group_id"), 7L, "eu"), null,
                1, Events.COMMITTED);
        assertThat(MAPPER.readTree(e.encode(insert).payload()).get("partitionkey").asText()).isEqualTo("[\"eu\",7]");
        assertThat(MAPPER.readTree(e.encode(delete).payload()).get("partitionkey").asText()).isEqualTo("[\"eu\",7]");
    }

    @Test
    void withoutConfigurationAKeyOnlyBeforeRowGivesTheKeyAndAnInsertHasNone() throws Exception {
        TableId members = new TableId("public", "memberships");
        CloudEventsEnvelope e = CloudEventsEnvelope.withTypePrefix("com.acme");
        Row key = Row.of(List.of("user_id", "group_id"), 7L, "eu");
        ChangeEvent delete = Events.event(members, Op.DELETE, key, null, 1, Events.COMMITTED);
        ChangeEvent keyChange = Events.event(members, Op.UPDATE, key, Row.of(MEMBER_COLUMNS, 8L, "eu", "x"), 2,
                Events.COMMITTED);
        ChangeEvent insert = Events.event(members, Op.CREATE, null, Row.of(MEMBER_COLUMNS, 7L, "eu", "x"), 0,
                Events.COMMITTED);
        assertThat(MAPPER.readTree(e.encode(delete).payload()).get("partitionkey").asText()).isEqualTo("[7,\"eu\"]");
        assertThat(MAPPER.readTree(e.encode(keyChange).payload()).get("partitionkey").asText()).isEqualTo("[7,\"eu\"]");
        assertThat(MAPPER.readTree(e.encode(insert).payload()).has("partitionkey")).isFalse();
    }

    @Test
    void partitionKeyUsesTheKeyColumnsTheSourceReported() throws Exception {
        TableId members = new TableId("public", "memberships");
        CloudEventsEnvelope e = CloudEventsEnvelope.withTypePrefix("com.acme");
        ChangeEvent plain = Events.event(members, Op.CREATE, null, Row.of(MEMBER_COLUMNS, 7L, "eu", "x"), 0,
                Events.COMMITTED);
        ChangeEvent insert = new ChangeEvent(plain.id(), plain.sourceId(), plain.op(), plain.table(), null,
                plain.after(), plain.position(), 1, List.of(), null, List.of("group_id", "user_id"));
        assertThat(MAPPER.readTree(e.encode(insert).payload()).get("partitionkey").asText()).isEqualTo("[\"eu\",7]");
    }

    @Test
    void truncateIsRenderedWithItsFlagsAndNoKey() throws Exception {
        CloudEventsEnvelope e = CloudEventsEnvelope.builder().typePrefix("com.acme.users").tenant("acme").build();
        ChangeEvent truncate = Events.truncate(true, false);
        String expected = """
                {"specversion":"1.0","id":"%s","source":"deltaforge/users-postgres/public.users",
                 "type":"com.acme.users.truncated","time":"2025-01-15T10:30:00.000Z",
                 "datacontenttype":"application/json","subject":"public.users","txid":"740","lsn":"0/16B3748",
                 "sequence":"00000000016B3790-0000000002","tenant":"acme",
                 "data":{"before":null,"after":null,"op":"t","truncate":{"cascade":true,"restart_identity":false}}}"""
                .formatted(truncate.id());
        assertThat(MAPPER.readTree(e.encode(truncate).payload())).isEqualTo(MAPPER.readTree(expected));
        assertSameEvent(readStructured(e.encode(truncate).payload()), e.toCloudEvent(truncate));
    }

    @Test
    void logicalMessageIsRenderedWithItsPrefixAsSubjectAndItsContent() throws Exception {
        CloudEventsEnvelope e = CloudEventsEnvelope.withTypePrefix("com.acme.users");
        ChangeEvent text = Events.message("audit", "hello \u00e9".getBytes(StandardCharsets.UTF_8), true);
        JsonNode json = MAPPER.readTree(e.encode(text).payload());
        assertThat(json.get("type").asText()).isEqualTo("com.acme.users.message");
        assertThat(json.get("subject").asText()).isEqualTo("audit");
        assertThat(json.get("source").asText()).isEqualTo("deltaforge/users-postgres/audit");
        assertThat(json.has("partitionkey")).isFalse();
        assertThat(json.get("data")).isEqualTo(MAPPER.readTree("""
                {"before":null,"after":null,"op":"m",
                 "message":{"prefix":"audit","content":"hello \u00e9","transactional":true}}"""));

        ChangeEvent binary = Events.message("blob", new byte[] {(byte) 0xff, 0, 1}, false);
        JsonNode message = MAPPER.readTree(e.encode(binary).payload()).get("data").get("message");
        assertThat(fieldNames(message)).containsExactly("prefix", "content_base64", "transactional");
        assertThat(message.get("content_base64").asText()).isEqualTo("/wAB");
        assertThat(message.get("transactional").asBoolean()).isFalse();
    }

    @Test
    void everyOpRoundTripsThroughTheSdkReadersInBothModes() {
        List<ChangeEvent> events = List.of(Events.insert(),
                Events.event(Op.UPDATE, Events.alice(), Events.alice(), 1, Events.COMMITTED),
                Events.event(Op.DELETE, Row.of(List.of("id"), 1L), null, 2, Events.COMMITTED),
                Events.event(Op.READ, null, Events.alice(), 0, Events.COMMITTED),
                Events.truncate(false, true),
                Events.message("audit", "x".getBytes(StandardCharsets.UTF_8), true));
        for (Mode mode : Mode.values()) {
            CloudEventsEnvelope e = CloudEventsEnvelope.builder().typePrefix("com.acme.users").mode(mode)
                    .tenant("acme").extension("region", "eu1").build();
            for (ChangeEvent event : events) {
                Message m = e.encode(event);
                CloudEvent read = mode == Mode.STRUCTURED ? readStructured(m.payload())
                        : new CloudEventsEnvelopeTest.NatsHeadersReader(m.headers(), m.payload()).toEvent();
                assertSameEvent(read, e.toCloudEvent(event));
                assertThat(read.getId()).isEqualTo(event.id()).isEqualTo(m.id());
                assertThat(read.getType()).isEqualTo("com.acme.users." + CloudEventsEnvelope.verb(event.op()));
            }
        }
    }

    @Test
    void mapValuesBecomeObjectsInTheirOrderAndNestWithListsAndDecimals() throws Exception {
        Map<String, Object> range = new LinkedHashMap<>();
        range.put("lower", new BigDecimal("1.50"));
        range.put("upper", null);
        range.put("lower_inclusive", true);
        Map<String, Object> composite = new LinkedHashMap<>();
        composite.put("street", "Main St");
        composite.put("point", List.of(Map.of("x", 1.5), Map.of("y", -2L)));
        composite.put("tags", new RawJson("{\"a\":1}"));
        Row row = Row.of(List.of("id", "price_range", "address"), 3L, range, composite);
        CloudEventsEnvelope e = CloudEventsEnvelope.withTypePrefix("com.acme.users");
        String text = new String(e.encode(Events.withAfter(row)).payload(), StandardCharsets.UTF_8);
        assertThat(text).contains("\"price_range\":{\"lower\":1.50,\"upper\":null,\"lower_inclusive\":true}")
                .contains("\"address\":{\"street\":\"Main St\",\"point\":[{\"x\":1.5},{\"y\":-2}],\"tags\":{\"a\":1}}");
        assertSameEvent(readStructured(e.encode(Events.withAfter(row)).payload()), e.toCloudEvent(Events.withAfter(row)));
        assertThat(NativeEnvelope.create().encode(Events.withAfter(row)).payload()).asString(StandardCharsets.UTF_8)
                .contains("\"price_range\":{\"lower\":1.50,");
    }
}
