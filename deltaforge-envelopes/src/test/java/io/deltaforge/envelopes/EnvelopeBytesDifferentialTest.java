package io.deltaforge.envelopes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ColumnType;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.envelopes.CloudEventsEnvelope.StandardExtension;
import io.deltaforge.envelopes.internal.JsonBytes;
import io.deltaforge.envelopes.internal.JsonOutput;
import io.deltaforge.envelopes.internal.PartitionKeys;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * The envelopes write, byte for byte, what they wrote with Jackson's generator ({@link JacksonReference}),
 * for generated events covering every value type and every character class, and fail where it failed.
 */
class EnvelopeBytesDifferentialTest {
    private static final int EVENTS = 3000;

    /** One envelope configuration, and how the reference writes the same event. */
    private record Pair(String name, Function<ChangeEvent, byte[]> envelope, Reference reference) {
    }

    @FunctionalInterface
    private interface Reference {
        byte[] write(JacksonReference jackson, ChangeEvent event) throws IOException;
    }

    private static List<Pair> pairs() {
        Map<TableId, List<String>> keys = new LinkedHashMap<>();
        Map<String, String> extensions = new LinkedHashMap<>();
        extensions.put("region", "eu\n\ud83d\ude00\ud800\"\\/");
        extensions.put("x1", "");
        CloudEventsEnvelope.Builder tagged = CloudEventsEnvelope.builder().typePrefix("com.\ud83d\ude00\u00e9")
                .tenant("t\u0001\ud83d\ude00\"").enable(StandardExtension.LSN, false);
        extensions.forEach(tagged::extension);
        CloudEventsEnvelope plain = CloudEventsEnvelope.withTypePrefix("com.acme");
        CloudEventsEnvelope tenant = tagged.build();
        CloudEventsEnvelope binary = CloudEventsEnvelope.builder().typePrefix("com.acme")
                .mode(CloudEventsEnvelope.Mode.BINARY).build();
        JacksonReference.CloudEvents plainConfig = new JacksonReference.CloudEvents("com.acme", null, Map.of(),
                EnumSet.allOf(StandardExtension.class), new PartitionKeys(keys));
        EnumSet<StandardExtension> withoutLsn = EnumSet.allOf(StandardExtension.class);
        withoutLsn.remove(StandardExtension.LSN);
        JacksonReference.CloudEvents tenantConfig = new JacksonReference.CloudEvents("com.\ud83d\ude00\u00e9",
                "t\u0001\ud83d\ude00\"", extensions, withoutLsn, new PartitionKeys(keys));
        NativeEnvelope nativeNoDb = NativeEnvelope.create();
        NativeEnvelope nativeDb = NativeEnvelope.builder().database("d\u00e9\n\ud83d\ude00").build();
        return List.of(
                new Pair("cloudevents structured", e -> plain.encode(e).payload(),
                        (j, e) -> j.cloudEvent(e, plainConfig, false)),
                new Pair("cloudevents with tenant, extensions, no lsn", e -> tenant.encode(e).payload(),
                        (j, e) -> j.cloudEvent(e, tenantConfig, false)),
                new Pair("cloudevents binary body", e -> binary.encode(e).payload(),
                        (j, e) -> j.cloudEvent(e, plainConfig, true)),
                new Pair("native", e -> nativeNoDb.encode(e).payload(), (j, e) -> j.nativeEvent(e, null)),
                new Pair("native with database", e -> nativeDb.encode(e).payload(),
                        (j, e) -> j.nativeEvent(e, "d\u00e9\n\ud83d\ude00")));
    }

    @Test
    void envelopesWriteTheBytesJacksonsGeneratorWrote() throws IOException {
        for (boolean lonelySurrogates : new boolean[] {false, true}) {
            List<ChangeEvent> events = new ArrayList<>();
            GeneratedEvents generated = new GeneratedEvents(lonelySurrogates ? 7 : 11, lonelySurrogates);
            for (int i = 0; i < EVENTS; i++) {
                events.add(generated.next(i));
            }
            assertSameBytes(events);
        }
    }

    @Test
    void failsTheEventsJacksonFailed() throws IOException {
        List<String> columns = List.of("id", "v");
        List<String> brokenName = List.of("id", "name\ud800");
        List<ChangeEvent> events = new ArrayList<>();
        for (Object bad : List.of(new RawJson("{\"a\":\"\ud800\"}"), new RawJson("\udc00"), new RawJson("x\ud83d"),
                new BigDecimal(BigInteger.ONE, 10_000), new BigDecimal(BigInteger.TEN, -10_000), nested(1000),
                new BigDecimal(BigInteger.ONE, 9_999), nested(999), new RawJson("[\"\ud83d\ude00\"]"))) {
            events.add(event(Row.of(columns, 1L, bad)));
        }
        // A column name with an unpaired surrogate: escaped the first time its list is seen, then pre-encoded,
        // which fails.
        for (int i = 0; i < 3; i++) {
            events.add(event(Row.of(brokenName, 1L, "x")));
        }
        assertSameBytes(events);
    }

    @Test
    void longTextKeepsPairsAcrossChunksAsJacksonDid() throws IOException {
        List<String> columns = List.of("id", "text", "json");
        List<ChangeEvent> events = new ArrayList<>();
        for (int at = 1018; at < 1030; at++) {
            String pad = "a".repeat(at);
            String text = pad + "\ud83d\ude00" + "\u0001\"\\".repeat(700) + "\u20ac".repeat(3000) + "\ud800";
            events.add(event(Row.of(columns, 1L, text, new RawJson("\"" + pad + "\ud83d\ude00\u20ac".repeat(900) + "\""))));
        }
        assertSameBytes(events);
    }

    @Test
    void valuesAsTextAreWhatJacksonWrote() {
        GeneratedEvents generated = new GeneratedEvents(3, true);
        StringBuilder every = new StringBuilder();
        for (char c = 0; c < 0xFFFF; c++) {
            every.append(c);
        }
        List<Object> values = new ArrayList<>(List.of(every.toString(), Long.MIN_VALUE, -0.0, 1e-7f,
                BigInteger.TWO.pow(70).negate(), Map.of(), List.of(), (short) -3, (byte) 7, Double.NaN));
        for (int i = 0; i < 2000; i++) {
            values.add(generated.text(30, true));
        }
        ChangeEvent event = event(Row.of(List.of("id"), 1L));
        for (Object value : values) {
            assertThat(JsonOutput.valueToJson(value, event, "v"))
                    .isEqualTo(JacksonReference.valueToJson(value, event, "v"));
        }
    }

    @Test
    void embeddedTextIsWhatJacksonsCharacterWriterWrote() throws IOException {
        GeneratedEvents generated = new GeneratedEvents(5, false);
        JsonFactory factory = new JsonFactory();
        for (int i = 0; i < 2000; i++) {
            String text = generated.text(i % 2 == 0 ? 20 : 1500, true);
            StringWriter expected = new StringWriter();
            try (JsonGenerator g = factory.createGenerator(expected)) {
                g.writeStartArray();
                g.writeString(text);
                g.writeNumber(i * 0.5);
                g.writeNumber(new BigDecimal(BigInteger.valueOf(i), i % 7 - 3));
                g.writeEndArray();
            }
            JsonBytes b = JsonBytes.forEmbeddedText();
            b.writeStartArray();
            b.writeString(text);
            b.writeNumber(i * 0.5);
            b.writeNumber(new BigDecimal(BigInteger.valueOf(i), i % 7 - 3));
            b.writeEndArray();
            assertThat(new String(b.takeBytes(), StandardCharsets.UTF_8)).isEqualTo(expected.toString());
        }
    }

    /**
     * Debezium's double paths (decimal.handling.mode=double beyond ±1.8e308, NaN in a point, a column default)
     * write non-finite doubles as Jackson's generator did: quoted, so the message stays valid JSON.
     */
    @Test
    void debeziumWritesNonFiniteDoublesAsJacksonDid() throws IOException {
        List<ColumnType> types = List.of(new ColumnType("id", "int4", -1, 'b', false, List.of()),
                new ColumnType("big", "numeric", -1, 'b', true, List.of()),
                new ColumnType("small", "numeric", ((12 << 16) | 3) + 4, 'b', true, List.of()),
                new ColumnType("special", "numeric", -1, 'b', true, List.of()),
                new ColumnType("at", "point", -1, 'b', true, List.of()),
                new ColumnType("huge_default", "numeric", -1, 'b', true, List.of(), "'1e400'::numeric"),
                new ColumnType("nan_default", "float8", -1, 'b', true, List.of(), "'NaN'::double precision"));
        List<String> names = types.stream().map(ColumnType::name).toList();
        Row row = Row.of(names, 1L, new BigDecimal("1e400"), new BigDecimal("-1e400").setScale(3), "Infinity",
                Map.of("x", Double.NaN, "y", Double.NEGATIVE_INFINITY), null, null);
        ChangeEvent base = event(row);
        ChangeEvent event = new ChangeEvent(base.id(), base.sourceId(), Op.DELETE, base.table(), row, null,
                base.position(), 1, List.of(), null, List.of("id"), types, "app");

        byte[] payload = DebeziumEnvelope.builder().schemasEnable(true)
                .decimalHandlingMode(DebeziumEnvelope.DecimalHandlingMode.DOUBLE).build().encode(event).payload();

        // Jackson's parser refuses bare NaN and Infinity by default.
        JsonNode message = new ObjectMapper().readTree(payload);
        JsonNode before = message.get("payload").get("before");
        assertThat(before.get("big")).isEqualTo(jackson(Double.POSITIVE_INFINITY));
        assertThat(before.get("small")).isEqualTo(jackson(Double.NEGATIVE_INFINITY));
        assertThat(before.get("special")).isEqualTo(jackson(Double.POSITIVE_INFINITY));
        assertThat(before.get("at").get("x")).isEqualTo(jackson(Double.NaN));
        assertThat(before.get("at").get("y")).isEqualTo(jackson(Double.NEGATIVE_INFINITY));
        assertThat(before.get("huge_default")).isEqualTo(jackson(Double.POSITIVE_INFINITY));
        assertThat(before.get("nan_default")).isEqualTo(jackson(Double.NaN));
        JsonNode fields = message.get("schema").get("fields").get(0).get("fields");
        assertThat(fields.get(5).get("default")).isEqualTo(jackson(Double.POSITIVE_INFINITY));
        assertThat(fields.get(6).get("default")).isEqualTo(jackson(Double.NaN));
    }

    @Test
    void nonFiniteDoublesAreWhatJacksonWrote() throws IOException {
        for (double d : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, 1e308}) {
            for (JsonBytes b : List.of(new JsonBytes(), JsonBytes.forEmbeddedText())) {
                b.writeStartArray();
                b.writeNumber(d);
                b.writeNumber(d);
                b.writeEndArray();
                StringWriter expected = new StringWriter();
                try (JsonGenerator g = new JsonFactory().createGenerator(expected)) {
                    g.writeStartArray();
                    g.writeNumber(d);
                    g.writeNumber(d);
                    g.writeEndArray();
                }
                assertThat(new String(b.takeBytes(), StandardCharsets.UTF_8)).as("%s", d)
                        .isEqualTo(expected.toString());
            }
        }
    }

    /** A double as Jackson's generator wrote it, read back. */
    private static JsonNode jackson(double d) throws IOException {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
            g.writeNumber(d);
        }
        return new ObjectMapper().readTree(out.toString());
    }

    private static void assertSameBytes(List<ChangeEvent> events) throws IOException {
        for (Pair pair : pairs()) {
            JacksonReference jackson = new JacksonReference();
            for (int i = 0; i < events.size(); i++) {
                ChangeEvent event = events.get(i);
                byte[] expected = null;
                Exception expectedFailure = null;
                try {
                    expected = pair.reference().write(jackson, event);
                } catch (IOException | IllegalArgumentException e) {
                    expectedFailure = e;
                    // The envelope drops a writer whose event failed, and with it the names it had encoded.
                    jackson = new JacksonReference();
                }
                byte[] actual = null;
                RuntimeException failure = null;
                try {
                    actual = pair.envelope().apply(event);
                } catch (RuntimeException e) {
                    failure = e;
                }
                String where = pair.name() + ", event " + i;
                if (expectedFailure != null) {
                    if (failure == null) {
                        fail(where + ": Jackson failed (" + expectedFailure + ") but the envelope wrote " + around(actual, 0));
                    }
                    assertThat(failure).as(where).isInstanceOf(expectedFailure instanceof IOException
                            ? DeltaforgeException.class : IllegalArgumentException.class);
                } else {
                    if (failure != null) {
                        throw new AssertionError(where + ": the envelope failed where Jackson wrote "
                                + around(expected, 0), failure);
                    }
                    if (!Arrays.equals(actual, expected)) {
                        int at = Arrays.mismatch(actual, expected);
                        fail(where + ": the bytes differ from offset " + at + "\n  jackson:  "
                                + around(expected, at) + "\n  envelope: " + around(actual, at));
                    }
                }
            }
        }
    }

    /** Up to 80 bytes around {@code at}, as text. */
    private static String around(byte[] bytes, int at) {
        int from = Math.max(0, at - 40);
        return new String(bytes, from, Math.min(bytes.length, from + 80) - from, StandardCharsets.UTF_8);
    }

    private static Object nested(int depth) {
        Object value = 1L;
        for (int i = 0; i < depth; i++) {
            value = List.of(value);
        }
        return value;
    }

    private static ChangeEvent event(@Nullable Row after) {
        return new ChangeEvent("id-1", "src", Op.CREATE, new TableId("public", "t"), null, after,
                new SourcePosition(new Lsn(100), new Lsn(90), 0, 7, Instant.parse("2025-01-15T10:30:00Z")));
    }
}
