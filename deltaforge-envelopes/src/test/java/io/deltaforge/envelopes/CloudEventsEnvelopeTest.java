package io.deltaforge.envelopes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cloudevents.CloudEvent;
import io.cloudevents.SpecVersion;
import io.cloudevents.core.data.BytesCloudEventData;
import io.cloudevents.core.message.impl.BaseGenericBinaryMessageReaderImpl;
import io.cloudevents.core.provider.EventFormatProvider;
import io.cloudevents.jackson.JsonFormat;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ConfigException;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.envelopes.internal.Rfc3339;
import io.deltaforge.spi.Message;
import java.math.BigDecimal;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

class CloudEventsEnvelopeTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final CloudEventsEnvelope envelope = CloudEventsEnvelope.withTypePrefix("com.acme.users");

    @Test
    void encodesTheSeedInsertAsTheExpectedCloudEvent() throws Exception {
        ChangeEvent event = Events.insert();
        Message m = envelope.encode(event);

        String expected = """
                {"specversion":"1.0","id":"%s",
                 "source":"deltaforge/users-postgres/public.users","type":"com.acme.users.created",
                 "time":"2025-01-15T10:30:00.000Z","datacontenttype":"application/json","subject":"public.users",
                 "txid":"740","lsn":"0/16B3748","sequence":"00000000016B3790-0000000000","partitionkey":"1",
                 "data":{"before":null,"after":{"id":1,"name":"Alice","email":"alice@example.com",
                 "created_at":"2025-01-15T10:30:00.000Z"},"op":"c"}}""".formatted(event.id());
        JsonNode actual = MAPPER.readTree(m.payload());
        assertThat(actual).isEqualTo(MAPPER.readTree(expected));
        assertThat(fieldNames(actual)).containsExactly("specversion", "id", "source", "type", "time",
                "datacontenttype", "subject", "txid", "lsn", "sequence", "partitionkey", "data");
        assertThat(fieldNames(actual.get("data"))).containsExactly("before", "after", "op");
        assertThat(fieldNames(actual.get("data").get("after"))).containsExactly("id", "name", "email", "created_at");
        assertThat(m.id()).isEqualTo(event.id());
        assertThat(m.contentType()).isEqualTo("application/cloudevents+json");
        assertThat(m.headers()).isEmpty();
    }

    @Test
    void sameEventGivesTheSameBytesEveryTime() {
        byte[] first = envelope.encode(Events.insert()).payload();
        byte[] again = CloudEventsEnvelope.withTypePrefix("com.acme.users").encode(Events.insert()).payload();
        assertThat(again).isEqualTo(first);
        assertThat(new String(first, StandardCharsets.UTF_8)).doesNotContain("\n", " \"");
    }

    @Test
    void namesTheTypeAfterEveryOp() throws Exception {
        Map<Op, String> expected = Map.of(Op.CREATE, "com.acme.users.created", Op.UPDATE, "com.acme.users.updated",
                Op.DELETE, "com.acme.users.deleted", Op.READ, "com.acme.users.snapshot",
                Op.TRUNCATE, "com.acme.users.truncated", Op.MESSAGE, "com.acme.users.message");
        for (Op op : Op.values()) {
            JsonNode json = MAPPER.readTree(envelope.encode(Events.event(op, null, null, 0, Events.COMMITTED)).payload());
            assertThat(json.get("type").asText()).as(op.name()).isEqualTo(expected.get(op));
            assertThat(json.get("data").get("op").asText()).isEqualTo(op.code());
        }
    }

    @Test
    void keepsNullBeforeAndAfterInTheData() throws Exception {
        ChangeEvent delete = Events.event(Op.DELETE, Row.of(List.of("id"), 1L), null, 0, Events.COMMITTED);
        JsonNode data = MAPPER.readTree(envelope.encode(delete).payload()).get("data");
        assertThat(data.has("after")).isTrue();
        assertThat(data.get("after").isNull()).isTrue();
        assertThat(data.get("before").get("id").asLong()).isEqualTo(1L);

        ChangeEvent truncate = Events.event(Op.TRUNCATE, null, null, 0, Events.COMMITTED);
        JsonNode both = MAPPER.readTree(envelope.encode(truncate).payload()).get("data");
        assertThat(fieldNames(both)).containsExactly("before", "after", "op");
        assertThat(both.get("before").isNull()).isTrue();
        assertThat(both.get("after").isNull()).isTrue();
    }

    @Test
    void writesCommitTimeInUtcWithAtLeastMilliseconds() throws Exception {
        assertThat(timeOf(Instant.parse("2025-01-15T10:30:00Z"))).isEqualTo("2025-01-15T10:30:00.000Z");
        assertThat(timeOf(Instant.parse("2025-01-15T10:30:00.120Z"))).isEqualTo("2025-01-15T10:30:00.120Z");
        assertThat(timeOf(Instant.parse("2025-01-15T10:30:00.123456Z"))).isEqualTo("2025-01-15T10:30:00.123456Z");
        assertThat(timeOf(Instant.parse("1999-12-31T23:59:59.000001Z"))).isEqualTo("1999-12-31T23:59:59.000001Z");
    }

    @Test
    void writesDecimalsWithEveryDigitAndNoExponent() throws Exception {
        BigDecimal thirty = new BigDecimal("123456789012345678901234567890");
        BigDecimal fraction = new BigDecimal("0.000000000000000000000000000001");
        BigDecimal scaled = new BigDecimal("1E+3");
        Row row = Row.of(List.of("big", "tiny", "scaled", "long", "double"),
                thirty, fraction, scaled, Long.MAX_VALUE, 0.1);
        String text = new String(envelope.encode(Events.withAfter(row)).payload(), StandardCharsets.UTF_8);

        assertThat(text).contains("\"big\":123456789012345678901234567890")
                .contains("\"tiny\":0.000000000000000000000000000001")
                .contains("\"scaled\":1000")
                .contains("\"long\":9223372036854775807")
                .contains("\"double\":0.1");
        JsonNode after = new ObjectMapper().enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                .readTree(text).get("data").get("after");
        assertThat(after.get("big").bigIntegerValue()).isEqualTo(thirty.toBigIntegerExact());
        assertThat(after.get("tiny").decimalValue()).isEqualByComparingTo(fraction);
    }

    @Test
    void embedsJsonColumnsAsJsonAndListsAsArrays() throws Exception {
        Row row = Row.of(List.of("doc", "tags", "nothing", "flag"),
                new RawJson("{\"a\":[1,2,{\"b\":null}]}"), List.of("x", 2L, List.of(true)), null, Boolean.TRUE);
        JsonNode after = MAPPER.readTree(envelope.encode(Events.withAfter(row)).payload()).get("data").get("after");
        assertThat(after.get("doc")).isEqualTo(MAPPER.readTree("{\"a\":[1,2,{\"b\":null}]}"));
        assertThat(after.get("tags")).isEqualTo(MAPPER.readTree("[\"x\",2,[true]]"));
        assertThat(after.get("nothing").isNull()).isTrue();
        assertThat(after.get("flag").booleanValue()).isTrue();

        Row unicode = Row.of(List.of("doc", "text"), new RawJson("{\"name\":\"Zo\u00EB \uD83D\uDE00\"}"), "\u20AC \"q\"");
        JsonNode u = MAPPER.readTree(envelope.encode(Events.withAfter(unicode)).payload()).get("data").get("after");
        assertThat(u.get("doc").get("name").asText()).isEqualTo("Zo\u00EB \uD83D\uDE00");
        assertThat(u.get("text").asText()).isEqualTo("\u20AC \"q\"");
    }

    @Test
    void rejectsAValueOutsideTheRowContractNamingTheColumn() {
        Row row = Row.of(List.of("when"), new java.util.Date(0));
        assertThatThrownBy(() -> envelope.encode(Events.withAfter(row)))
                .isInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("'when'").hasMessageContaining("public.users").hasMessageContaining("java.util.Date");
    }

    @Test
    void sequenceOrdersByCommitLsnThenIndexInTransaction() {
        List<String> sequences = new ArrayList<>();
        long[] commits = {0x10L, 0x16B3790L, 0xFFL << 32, -1L};
        for (long commit : commits) {
            for (int index : new int[] {0, 9, 10, 1_000_000, Integer.MAX_VALUE}) {
                sequences.add(CloudEventsEnvelope.sequence(
                        new SourcePosition(new Lsn(commit), new Lsn(commit), index, 1, Events.COMMITTED)));
            }
        }
        List<String> sorted = new ArrayList<>(sequences);
        sorted.sort(null);
        assertThat(sorted).isEqualTo(sequences);
        assertThat(sequences.get(5)).isEqualTo("00000000016B3790-0000000000");
        assertThat(sequences.get(sequences.size() - 1)).isEqualTo("FFFFFFFFFFFFFFFF-2147483647");
    }

    @Test
    void writesTheLsnExactlyAsPostgresAndLsnToStringDo() {
        long[] values = {0L, 0x16B3748L, 0x1_0000_0000L, 0x16_B374D848L, 0xFFFF_FFFFL, -1L, Long.MIN_VALUE};
        char[] c = new char[17];
        for (long v : values) {
            assertThat(new String(c, 0, CloudEventsEnvelope.lsnText(v, c))).isEqualTo(new Lsn(v).toString());
        }
    }

    @Test
    void structuredEventsOfSeveralTablesAndSourcesKeepTheirOwnSourceAndSubject() throws Exception {
        ChangeEvent users = Events.insert();
        ChangeEvent orders = new ChangeEvent(users.id(), "other-source", users.op(), new TableId("shop", "orders"),
                users.before(), users.after(), users.position());
        for (int round = 0; round < 2; round++) {
            JsonNode u = MAPPER.readTree(envelope.encode(users).payload());
            JsonNode o = MAPPER.readTree(envelope.encode(orders).payload());
            assertThat(u.get("source").asText()).isEqualTo("deltaforge/" + users.sourceId() + "/public.users");
            assertThat(u.get("subject").asText()).isEqualTo("public.users");
            assertThat(o.get("source").asText()).isEqualTo("deltaforge/other-source/shop.orders");
            assertThat(o.get("subject").asText()).isEqualTo("shop.orders");
            assertThat(u.get("lsn").asText()).isEqualTo(users.position().lsn().toString());
        }
    }

    @Test
    void eachEventCarriesTheTimeAndTxidOfItsOwnTransactionWhenTransactionsAlternate() throws Exception {
        ChangeEvent first = Events.insert();
        SourcePosition p = first.position();
        Instant later = p.commitTime().plusMillis(1);
        List<ChangeEvent> events = List.of(first,
                withPosition(first, new SourcePosition(p.commitLsn(), p.lsn(), 1, p.xid() + 1, later)),
                // The same xid again (xids wrap around) with another commit time.
                withPosition(first, new SourcePosition(p.commitLsn(), p.lsn(), 2, p.xid(), later)));
        for (int round = 0; round < 2; round++) {
            for (ChangeEvent e : events) {
                JsonNode json = MAPPER.readTree(envelope.encode(e).payload());
                assertThat(json.get("time").asText()).isEqualTo(Rfc3339.format(e.position().commitTime()));
                assertThat(json.get("txid").asText()).isEqualTo(Long.toString(e.position().xid()));
            }
        }
    }

    private static ChangeEvent withPosition(ChangeEvent e, SourcePosition position) {
        return new ChangeEvent(e.id(), e.sourceId(), e.op(), e.table(), e.before(), e.after(), position);
    }

    @Test
    void eventsEncodedOneAfterAnotherStayIndependentAcrossAHugeOneAndAFailedOne() throws Exception {
        byte[] small = envelope.encode(Events.insert()).payload();
        String big = "x".repeat(300_000);
        Row huge = Row.of(List.of("id", "name"), 1L, big);

        JsonNode hugeJson = MAPPER.readTree(envelope.encode(Events.withAfter(huge)).payload());
        assertThatThrownBy(() -> envelope.encode(Events.withAfter(Row.of(List.of("when"), new java.util.Date(0)))))
                .isInstanceOf(DeltaforgeException.class);

        assertThat(hugeJson.get("data").get("after").get("name").asText()).isEqualTo(big);
        assertThat(envelope.encode(Events.insert()).payload()).isEqualTo(small);
    }

    @Test
    void oneEnvelopeEncodesFromSeveralThreadsAtOnceAsFromOne() throws Exception {
        List<ChangeEvent> events = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            events.add(Events.event(Op.CREATE, null, Row.of(List.of("id", "name"), (long) i, "n" + i), i,
                    Events.COMMITTED));
        }
        List<byte[]> expected = new ArrayList<>();
        for (ChangeEvent e : events) {
            expected.add(envelope.encode(e).payload());
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                results.add(pool.submit(() -> {
                    for (int i = 0; i < events.size(); i++) {
                        if (!java.util.Arrays.equals(envelope.encode(events.get(i)).payload(), expected.get(i))) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (var r : results) {
                assertThat(r.get(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void addsTenantAndConfiguredExtensions() throws Exception {
        CloudEventsEnvelope tagged = CloudEventsEnvelope.builder().typePrefix("com.acme.users").tenant("acme")
                .extension("region", "eu1").build();
        JsonNode json = MAPPER.readTree(tagged.encode(Events.insert()).payload());
        assertThat(json.get("tenant").asText()).isEqualTo("acme");
        assertThat(json.get("region").asText()).isEqualTo("eu1");
        assertThat(fieldNames(json)).endsWith("sequence", "partitionkey", "tenant", "region", "data");

        CloudEvent read = readStructured(tagged.encode(Events.insert()).payload());
        assertThat(read.getExtension("tenant")).isEqualTo("acme");
        assertThat(read.getExtension("region")).isEqualTo("eu1");
    }

    @Test
    void structuredMessageRoundTripsThroughTheSdkReader() throws Exception {
        CloudEventsEnvelope tagged = CloudEventsEnvelope.builder().typePrefix("com.acme.users").tenant("acme").build();
        ChangeEvent event = Events.event(Op.UPDATE, Events.alice(), Events.alice(), 3,
                Instant.parse("2025-01-15T10:30:00.123456Z"));
        CloudEvent read = readStructured(tagged.encode(event).payload());
        assertSameEvent(read, tagged.toCloudEvent(event));
        assertThat(read.getTime()).isEqualTo(OffsetDateTime.parse("2025-01-15T10:30:00.123456Z"));
        assertThat(read.getSource().toString()).isEqualTo("deltaforge/users-postgres/public.users");
    }

    @Test
    void binaryModePutsPercentEncodedAttributesInCeHeaders() throws Exception {
        CloudEventsEnvelope binary = CloudEventsEnvelope.builder().typePrefix("com.acme.users")
                .mode(CloudEventsEnvelope.Mode.BINARY).tenant("Euro \u20AC \uD83D\uDE00").build();
        ChangeEvent event = Events.insert();
        Message m = binary.encode(event);

        assertThat(m.contentType()).isEqualTo("application/json");
        assertThat(m.id()).isEqualTo(event.id());
        assertThat(m.headers()).containsEntry("ce-specversion", "1.0")
                .containsEntry("ce-id", event.id())
                .containsEntry("ce-source", "deltaforge/users-postgres/public.users")
                .containsEntry("ce-type", "com.acme.users.created")
                .containsEntry("ce-time", "2025-01-15T10:30:00.000Z")
                .containsEntry("ce-datacontenttype", "application/json")
                .containsEntry("ce-subject", "public.users")
                .containsEntry("ce-txid", "740")
                .containsEntry("ce-lsn", "0/16B3748")
                .containsEntry("ce-sequence", "00000000016B3790-0000000000")
                .containsEntry("ce-partitionkey", "1")
                .containsEntry("ce-tenant", "Euro%20%E2%82%AC%20%F0%9F%98%80")
                .hasSize(12);
        assertThat(MAPPER.readTree(m.payload())).isEqualTo(
                MAPPER.readTree(envelope.encode(event).payload()).get("data"));
    }

    @Test
    void binaryMessageRoundTripsThroughTheSdkBinaryReader() {
        CloudEventsEnvelope binary = CloudEventsEnvelope.builder().typePrefix("com.acme.users")
                .mode(CloudEventsEnvelope.Mode.BINARY).tenant("a \"quoted\" 100% tenant").build();
        ChangeEvent event = Events.event(new TableId("my schema", "Users/ä"), Op.DELETE, Events.alice(), null, 7,
                Instant.parse("2025-01-15T10:30:00.5Z"));
        Message m = binary.encode(event);
        m.headers().values().forEach(v -> assertThat(v).matches("[\\x21-\\x7E]*").doesNotContain("\""));

        CloudEvent read = new NatsHeadersReader(m.headers(), m.payload()).toEvent();
        assertSameEvent(read, binary.toCloudEvent(event));
        assertThat(read.getExtension("tenant")).isEqualTo("a \"quoted\" 100% tenant");
        assertThat(read.getSubject()).isEqualTo("my schema.Users/ä");
    }

    @Test
    void sourceStaysAValidUriForAnyTableName() {
        ChangeEvent event = Events.event(new TableId("my schema", "Users/ä"), Op.CREATE, null, Events.alice(), 0,
                Events.COMMITTED);
        CloudEvent read = readStructured(envelope.encode(event).payload());
        assertThat(read.getSource().toString()).isEqualTo("deltaforge/users-postgres/my%20schema.Users%2F%C3%A4");
        assertThat(read.getSubject()).isEqualTo("my schema.Users/ä");
    }

    @Test
    void toCloudEventSerialisesLikeEncodeThroughTheSdkFormat() throws Exception {
        ChangeEvent event = Events.insert();
        byte[] sdk = new JsonFormat().serialize(envelope.toCloudEvent(event));
        ObjectNode sdkTree = (ObjectNode) MAPPER.readTree(sdk);
        ObjectNode ours = (ObjectNode) MAPPER.readTree(envelope.encode(event).payload());
        // The SDK writes "2025-01-15T10:30Z" style times; the instant is what must agree.
        assertThat(OffsetDateTime.parse(sdkTree.remove("time").asText()).toInstant())
                .isEqualTo(OffsetDateTime.parse(ours.remove("time").asText()).toInstant());
        assertThat(sdkTree).isEqualTo(ours);
    }

    @Test
    void builderReportsEveryProblemAtOnce() {
        assertThatThrownBy(() -> CloudEventsEnvelope.builder().tenant(" ").extension("Bad_Name", "x")
                .extension("txid", "1").build())
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems())
                        .extracting(ConfigException.Problem::path)
                        .containsExactly("cloudevents.type_prefix", "cloudevents.tenant",
                                "cloudevents.extensions.Bad_Name", "cloudevents.extensions.txid"));
        assertThatThrownBy(() -> CloudEventsEnvelope.withTypePrefix("com.acme."))
                .isInstanceOf(ConfigException.class).hasMessageContaining("ends with a dot");
        assertThatThrownBy(() -> CloudEventsEnvelope.withTypePrefix("com acme"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("whitespace");
        assertThatThrownBy(() -> CloudEventsEnvelope.builder().typePrefix(null))
                .isInstanceOf(NullPointerException.class).hasMessage("typePrefix");
    }

    private String timeOf(Instant committed) throws Exception {
        ChangeEvent event = Events.event(Op.CREATE, null, Events.alice(), 0, committed);
        String time = MAPPER.readTree(envelope.encode(event).payload()).get("time").asText();
        assertThat(readStructured(envelope.encode(event).payload()).getTime().toInstant()).isEqualTo(committed);
        return time;
    }

    static CloudEvent readStructured(byte[] payload) {
        return EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE).deserialize(payload);
    }

    static void assertSameEvent(CloudEvent actual, CloudEvent expected) {
        assertThat(actual.getSpecVersion()).isEqualTo(SpecVersion.V1);
        assertThat(actual.getId()).isEqualTo(expected.getId());
        assertThat(actual.getSource()).isEqualTo(expected.getSource());
        assertThat(actual.getType()).isEqualTo(expected.getType());
        assertThat(actual.getTime()).isEqualTo(expected.getTime());
        assertThat(actual.getDataContentType()).isEqualTo(expected.getDataContentType());
        assertThat(actual.getSubject()).isEqualTo(expected.getSubject());
        assertThat(actual.getExtensionNames()).isEqualTo(expected.getExtensionNames());
        for (String name : expected.getExtensionNames()) {
            assertThat(actual.getExtension(name)).as(name).isEqualTo(expected.getExtension(name));
        }
        try {
            assertThat(MAPPER.readTree(actual.getData().toBytes()))
                    .isEqualTo(MAPPER.readTree(expected.getData().toBytes()));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        Iterator<String> it = node.fieldNames();
        it.forEachRemaining(names::add);
        return names;
    }

    /** The SDK's binary reader over headers as the NATS binding writes them: ce- prefix, percent-encoded. */
    static final class NatsHeadersReader extends BaseGenericBinaryMessageReaderImpl<String, String> {
        private final Map<String, String> headers;

        NatsHeadersReader(Map<String, String> headers, byte[] body) {
            super(SpecVersion.parse(headers.get("ce-specversion")), BytesCloudEventData.wrap(body));
            this.headers = headers;
        }

        @Override
        protected boolean isContentTypeHeader(String key) {
            return key.equalsIgnoreCase("content-type");
        }

        @Override
        protected boolean isCloudEventsHeader(String key) {
            return key.regionMatches(true, 0, "ce-", 0, 3);
        }

        @Override
        protected String toCloudEventsKey(String key) {
            return key.substring(3).toLowerCase(java.util.Locale.ROOT);
        }

        @Override
        protected void forEachHeader(BiConsumer<String, String> fn) {
            headers.forEach(fn);
        }

        @Override
        protected String toCloudEventsValue(String value) {
            // URLDecoder also turns '+' into a space; our encoder never leaves a space, and a '+' in a
            // value must survive, so protect it first.
            return URLDecoder.decode(value.replace("+", "%2B"), StandardCharsets.UTF_8);
        }
    }
}
