package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.RawJson;
import java.math.BigDecimal;
import java.util.Arrays;
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
    void keepsSpecialTimestampsAsText() {
        assertThat(mapper.map(TypeMapper.TIMESTAMPTZ, "infinity")).isEqualTo("infinity");
        assertThat(mapper.map(TypeMapper.TIMESTAMP, "-infinity")).isEqualTo("-infinity");
        assertThat(mapper.map(TypeMapper.DATE, "infinity")).isEqualTo("infinity");
        assertThat(mapper.map(TypeMapper.TIMESTAMPTZ, "0044-03-15 10:00:00+00 BC")).isEqualTo("0044-03-15 10:00:00+00 BC");
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
    void parsesOneDimensionalArrays() {
        assertThat(mapper.map(1007, "{1,2,NULL}")).isEqualTo(Arrays.asList(1L, 2L, null));
        assertThat(mapper.map(1009, "{a,\"b c\",\"NULL\",\"q\\\"x\",\"\"}"))
                .isEqualTo(Arrays.asList("a", "b c", "NULL", "q\"x", ""));
        assertThat(mapper.map(1009, "{}")).isEqualTo(Arrays.asList());
        assertThat(mapper.map(1185, "{\"2025-01-15 10:30:00+00\"}")).isEqualTo(Arrays.asList("2025-01-15T10:30:00.000Z"));
        assertThat(mapper.map(1007, "{{1,2},{3,4}}")).isEqualTo("{{1,2},{3,4}}");
        assertThat(mapper.map(1007, "[0:1]={1,2}")).isEqualTo("[0:1]={1,2}");
    }
}
