package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.RawJson;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class TypeMapperTest {
    private final TypeMapper mapper = new TypeMapper();

    @Test
    void mapsIntegersToLong() {
        assertThat(mapper.map(TypeMapper.INT2, "-7")).isEqualTo(-7L);
        assertThat(mapper.map(TypeMapper.INT4, "42")).isEqualTo(42L);
        assertThat(mapper.map(TypeMapper.INT8, "9223372036854775807")).isEqualTo(Long.MAX_VALUE);
        assertThat(mapper.map(TypeMapper.OID, "4294967295")).isEqualTo(4294967295L);
    }

    @Test
    void mapsFloatsToDoubleButSpecialValuesToText() {
        assertThat(mapper.map(TypeMapper.FLOAT8, "1.5")).isEqualTo(1.5d);
        assertThat(mapper.map(TypeMapper.FLOAT4, "0.100000001")).isEqualTo(0.100000001d);
        assertThat(mapper.map(TypeMapper.FLOAT8, "NaN")).isEqualTo("NaN");
        assertThat(mapper.map(TypeMapper.FLOAT8, "Infinity")).isEqualTo("Infinity");
        assertThat(mapper.map(TypeMapper.FLOAT4, "-Infinity")).isEqualTo("-Infinity");
    }

    @Test
    void mapsNumericToBigDecimalKeepingScale() {
        assertThat(mapper.map(TypeMapper.NUMERIC, "12345678901234567890.120")).isEqualTo(
                new BigDecimal("12345678901234567890.120"));
        assertThat(mapper.map(TypeMapper.NUMERIC, "NaN")).isEqualTo("NaN");
        assertThat(mapper.map(TypeMapper.NUMERIC, "-Infinity")).isEqualTo("-Infinity");
    }

    @Test
    void mapsBoolJsonAndBytea() {
        assertThat(mapper.map(TypeMapper.BOOL, "t")).isEqualTo(true);
        assertThat(mapper.map(TypeMapper.BOOL, "f")).isEqualTo(false);
        assertThat(mapper.map(TypeMapper.JSONB, "{\"a\": 1}")).isEqualTo(new RawJson("{\"a\": 1}"));
        assertThat(mapper.map(TypeMapper.JSON, "[1,2]")).isEqualTo(new RawJson("[1,2]"));
        assertThat(mapper.map(TypeMapper.BYTEA, "\\xdeadbeef")).isEqualTo("3q2+7w==");
        assertThat(mapper.map(TypeMapper.BYTEA, "\\x")).isEqualTo("");
    }

    @Test
    void writesTimestamptzAsUtcWithAtLeastMilliseconds() {
        assertThat(mapper.map(TypeMapper.TIMESTAMPTZ, "2025-01-15 10:30:00+00")).isEqualTo("2025-01-15T10:30:00.000Z");
        assertThat(mapper.map(TypeMapper.TIMESTAMPTZ, "2025-01-15 10:30:00.5+00")).isEqualTo("2025-01-15T10:30:00.500Z");
        assertThat(mapper.map(TypeMapper.TIMESTAMPTZ, "2025-01-15 10:30:00.123456+00"))
                .isEqualTo("2025-01-15T10:30:00.123456Z");
        assertThat(mapper.map(TypeMapper.TIMESTAMPTZ, "2025-01-15 10:30:00.000001+00"))
                .isEqualTo("2025-01-15T10:30:00.000001Z");
    }

    @Test
    void convertsTimestamptzOffsetsToUtc() {
        assertThat(mapper.map(TypeMapper.TIMESTAMPTZ, "2025-01-15 12:30:00+02")).isEqualTo("2025-01-15T10:30:00.000Z");
        assertThat(mapper.map(TypeMapper.TIMESTAMPTZ, "2025-01-15 05:00:00-05:30")).isEqualTo("2025-01-15T10:30:00.000Z");
        assertThat(mapper.map(TypeMapper.TIMESTAMPTZ, "2025-01-01 00:10:00+00:10:00"))
                .isEqualTo("2025-01-01T00:00:00.000Z");
    }

    @Test
    void keepsInfinityAsTextAndWritesBcYearsTheIso8601Way() {
        assertThat(mapper.map(TypeMapper.TIMESTAMPTZ, "infinity")).isEqualTo("infinity");
        assertThat(mapper.map(TypeMapper.TIMESTAMP, "-infinity")).isEqualTo("-infinity");
        assertThat(mapper.map(TypeMapper.DATE, "infinity")).isEqualTo("infinity");
        assertThat(mapper.map(TypeMapper.TIMESTAMPTZ, "0044-03-15 10:00:00+00 BC")).isEqualTo("-0043-03-15T10:00:00.000Z");
    }

    @Test
    void writesLocalTimestampAndDate() {
        assertThat(mapper.map(TypeMapper.TIMESTAMP, "2025-01-15 10:30:00")).isEqualTo("2025-01-15T10:30:00.000");
        assertThat(mapper.map(TypeMapper.TIMESTAMP, "2025-01-15 10:30:00.654321")).isEqualTo("2025-01-15T10:30:00.654321");
        assertThat(mapper.map(TypeMapper.DATE, "2025-01-15")).isEqualTo("2025-01-15");
    }

    @Test
    void passesUnparseableTextThrough() {
        assertThat(mapper.map(TypeMapper.TIMESTAMPTZ, "Wed Jan 15 10:30:00 2025 UTC")).isEqualTo("Wed Jan 15 10:30:00 2025 UTC");
        assertThat(mapper.map(TypeMapper.INT4, "x")).isEqualTo("x");
        assertThat(mapper.map(2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")).isEqualTo("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
        assertThat(mapper.map(25, "plain text")).isEqualTo("plain text");
    }

    @Test
    void parsesArraysOfAnyDimension() {
        assertThat(mapper.map(1007, "{1,2,NULL}")).isEqualTo(Arrays.asList(1L, 2L, null));
        assertThat(mapper.map(1009, "{a,\"b c\",\"NULL\",\"q\\\"x\",\"\"}"))
                .isEqualTo(Arrays.asList("a", "b c", "NULL", "q\"x", ""));
        assertThat(mapper.map(1009, "{}")).isEqualTo(Arrays.asList());
        assertThat(mapper.map(1185, "{\"2025-01-15 10:30:00+00\"}")).isEqualTo(Arrays.asList("2025-01-15T10:30:00.000Z"));
        assertThat(mapper.map(1007, "{{1,2},{3,NULL}}")).isEqualTo(List.of(List.of(1L, 2L), Arrays.asList(3L, null)));
        assertThat(mapper.map(1007, "[0:1]={1,2}")).isEqualTo(List.of(1L, 2L));
        assertThat(mapper.map(1007, "{1,x}")).isEqualTo("{1,x}");
    }

    @Test
    void mapsTheOtherBuiltInTypes() {
        assertThat(mapper.map(TypeMapper.TIME, "10:30:00")).isEqualTo("10:30:00.000");
        assertThat(mapper.map(TypeMapper.TIMETZ, "10:30:00+02")).isEqualTo("10:30:00.000+02:00");
        assertThat(mapper.map(TypeMapper.INTERVAL, "P1Y2M3DT4H5M6.789S")).isEqualTo("P1Y2M3DT4H5M6.789S");
        assertThat(mapper.map(TypeMapper.INTERVAL, "1 day 02:00:00")).isEqualTo("P1DT2H");
        assertThat(mapper.map(TypeMapper.MONEY, "-$1,000.50")).isEqualTo(new BigDecimal("-1000.50"));
        assertThat(mapper.map(TypeMapper.MONEY, "1.000,50 €")).isEqualTo("1.000,50 €");
        assertThat(mapper.map(TypeMapper.POINT, "(1,2)")).isEqualTo(Map.of("x", 1.0, "y", 2.0));
        assertThat(mapper.map(TypeMapper.INT4RANGE, "[1,5)")).isEqualTo(Structured.range(Scalars::integer).parse("[1,5)"));
        assertThat(mapper.map(4536, "{[1,5)}")).asList().hasSize(1);
        assertThat(mapper.map(TypeMapper.BIT, "0101")).isEqualTo("0101");
        assertThat(mapper.map(TypeMapper.INET, "10.0.0.1/8")).isEqualTo("10.0.0.1/8");
        assertThat(mapper.map(1020, "{(1,1),(0,0);(2,2),(1,1)}")).asList().hasSize(2);
        assertThat(mapper.map(22, "1 2 3")).isEqualTo("1 2 3"); // int2vector is not an array literal
    }

    @Test
    void userTypesAreTextUntilTheLookupDescribesThem() {
        assertThat(mapper.map(16500, "(1,x)")).isEqualTo("(1,x)");
        AtomicInteger lookups = new AtomicInteger();
        TypeMapper withCatalog = new TypeMapper(oids -> {
            lookups.incrementAndGet();
            assertThat(oids).containsExactlyInAnyOrder(16500, 16510);
            return Map.of(
                    16500, TypeInfo.composite(16500, "address", List.of("no", "street", "mood"), List.of(23, 25, 16520)),
                    16501, TypeInfo.array(16501, "_address", 16500, ','),
                    16510, TypeInfo.domain(16510, "positive", 20),
                    16520, TypeInfo.enumType(16520, "mood"),
                    16530, TypeInfo.base(16530, "hstore"),
                    16540, TypeInfo.range(16540, "floatrange", 'r', 701));
        });
        withCatalog.prepare(new int[] {23, 16500, 16510});
        withCatalog.prepare(new int[] {23, 25});
        assertThat(lookups).hasValue(1);
        assertThat(withCatalog.map(16510, "42")).isEqualTo(42L);
        assertThat(withCatalog.map(16520, "happy")).isEqualTo("happy");
        assertThat(withCatalog.map(16500, "(1,\"Main St\",sad)"))
                .isEqualTo(Map.of("no", 1L, "street", "Main St", "mood", "sad"));
        assertThat(withCatalog.map(16501, "{\"(1,a,sad)\",NULL}"))
                .isEqualTo(Arrays.asList(Map.of("no", 1L, "street", "a", "mood", "sad"), null));
        assertThat(withCatalog.map(16530, "\"a\"=>\"1\"")).isEqualTo(Map.of("a", "1"));
        assertThat(withCatalog.map(16540, "[1.5,2)")).isEqualTo(Structured.range(Scalars::floating).parse("[1.5,2)"));
        assertThat(withCatalog.map(16500, "(1,2,3,4)")).isEqualTo("(1,2,3,4)");
        assertThat(withCatalog.map(99999, "whatever")).isEqualTo("whatever");
    }

    @Test
    void namesTypesAsTheCatalogDoes() {
        TypeMapper withCatalog = new TypeMapper(oids -> Map.of(
                16500, TypeInfo.composite(16500, "address", List.of("no"), List.of(23)),
                16501, TypeInfo.array(16501, "_address", 16500, ','),
                16510, TypeInfo.domain(16510, "positive", 20),
                16511, TypeInfo.array(16511, "_positive", 16510, ','),
                16520, TypeInfo.enumType(16520, "mood")));
        withCatalog.prepare(new int[] {16500, 16501, 16510, 16511, 16520});
        assertThat(withCatalog.typeName(1700)).isEqualTo("numeric");
        assertThat(withCatalog.typeName(1007)).isEqualTo("_int4");
        assertThat(withCatalog.typeName(16510)).isEqualTo("int8");
        assertThat(withCatalog.typeName(16511)).isEqualTo("_int8");
        assertThat(withCatalog.typeName(16520)).isEqualTo("mood");
        assertThat(withCatalog.typeName(99999)).isEqualTo("99999");
        assertThat(withCatalog.typeKind(16501)).isEqualTo('c');
        assertThat(withCatalog.typeKind(16520)).isEqualTo('e');
        assertThat(withCatalog.typeKind(3904)).isEqualTo('r');
        assertThat(withCatalog.typeKind(4451)).isEqualTo('m');
        assertThat(withCatalog.typeKind(16511)).isEqualTo('b');
    }

    @Test
    void prepareReplacesWhatWasKnownSoChangedCompositesAreReadAgain() {
        AtomicInteger version = new AtomicInteger();
        TypeMapper withCatalog = new TypeMapper(oids -> version.incrementAndGet() == 1
                ? Map.of(16600, TypeInfo.composite(16600, "c", List.of("a"), List.of(23)))
                : Map.of(16600, TypeInfo.composite(16600, "c", List.of("a", "b"), List.of(23, 25))));
        withCatalog.prepare(new int[] {16600});
        assertThat(withCatalog.map(16600, "(1)")).isEqualTo(Map.of("a", 1L));
        withCatalog.prepare(new int[] {16600});
        assertThat(withCatalog.map(16600, "(1,x)")).isEqualTo(Map.of("a", 1L, "b", "x"));
    }

    @Test
    void sessionOptionsNameEverySettingTheMapperRelies() {
        assertThat(List.of(TypeMapper.SESSION_OPTIONS.split(" "))).contains("DateStyle=ISO", "TimeZone=UTC",
                "extra_float_digits=3", "IntervalStyle=iso_8601", "lc_monetary=C", "bytea_output=hex");
    }
}
