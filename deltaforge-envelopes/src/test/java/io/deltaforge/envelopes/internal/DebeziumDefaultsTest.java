package io.deltaforge.envelopes.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ColumnType;
import io.deltaforge.api.RawJson;
import io.deltaforge.envelopes.internal.DebeziumValues.Decimals;
import java.math.BigDecimal;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class DebeziumDefaultsTest {
    private static final int NUMERIC_8_2 = (8 << 16 | 2) + 4;

    private static @Nullable Object of(String type, int modifier, boolean optional, @Nullable String expression) {
        return DebeziumDefaults.of(new ColumnType("c", type, modifier, 'b', optional, List.of(), expression),
                Decimals.PRECISE);
    }

    private static @Nullable Object of(String type, @Nullable String expression) {
        return of(type, -1, true, expression);
    }

    @Test
    void readsConstantsAndCastLiterals() {
        assertThat(of("text", "'plain'::text")).isEqualTo("plain");
        assertThat(of("text", "'it''s'::text")).isEqualTo("it's");
        assertThat(of("varchar", "'ab'::character varying")).isEqualTo("ab");
        assertThat(of("int4", "7")).isEqualTo(7L);
        assertThat(of("int8", "'-42'::integer")).isEqualTo(-42L);
        assertThat(of("int2", " 3 ")).isEqualTo(3L);
        assertThat(of("float8", "2.5")).isEqualTo(2.5d);
        assertThat(of("bool", "true")).isEqualTo(true);
        assertThat(of("bool", "false")).isEqualTo(false);
        assertThat(of("jsonb", "'{\"a\": 1}'::jsonb")).isEqualTo(new RawJson("{\"a\": 1}"));
        assertThat(of("uuid", "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid"))
                .isEqualTo("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
        assertThat(of("date", "'2025-01-15'::date")).isEqualTo("2025-01-15");
        assertThat(of("timestamp", "'2025-01-15 10:30:00.5'::timestamp without time zone"))
                .isEqualTo("2025-01-15T10:30:00.500");
        assertThat(of("timestamptz", "'2025-01-15 08:30:00+00'::timestamp with time zone"))
                .isEqualTo("2025-01-15T08:30:00Z");
        assertThat(of("timestamptz", "'2025-01-15 10:30:00+05:30'::timestamp with time zone"))
                .isEqualTo("2025-01-15T05:00:00Z");
    }

    @Test
    void readsTimesIntervalsAndBitStringsAsTheirValuesAreCarried() {
        assertThat(of("time", "'12:30:00'::time without time zone")).isEqualTo("12:30");
        assertThat(of("time", "'08:15:30.25'::time without time zone")).isEqualTo("08:15:30.250");
        assertThat(of("time", "LOCALTIME")).isEqualTo("00:00");
        assertThat(of("interval", "'1 day 02:00:00'::interval")).isEqualTo("P0Y0M1DT02H00M00S");
        assertThat(DebeziumDefaults.isoInterval("1 year 2 mons -3 days -04:05:06.5")).isEqualTo("P1Y2M-3DT-04H-05M-06.5S");
        assertThat(DebeziumDefaults.isoInterval("P1D")).isEqualTo("P1D");
        assertThat(of("interval", "(now() - now())")).as("Debezium reads no generated interval").isNull();
        assertThat(of("bit", "B'101'::\"bit\"")).isEqualTo("101");
        assertThat(of("varbit", "B'11'::\"bit\"")).isEqualTo("11");
    }

    @Test
    void raisesANumericsScaleToTheColumns() {
        assertThat(of("numeric", NUMERIC_8_2, true, "1.5")).isEqualTo(new BigDecimal("1.50"));
        assertThat(of("numeric", NUMERIC_8_2, true, "'1.505'::numeric")).isEqualTo(new BigDecimal("1.505"));
    }

    @Test
    void anUnconstrainedNumericHasNoneWhenItsValueIsAStruct() {
        ColumnType free = new ColumnType("c", "numeric", -1, 'b', true, List.of(), "'2.50'::numeric");
        assertThat(DebeziumDefaults.of(free, Decimals.PRECISE)).isNull();
        assertThat(DebeziumDefaults.of(free, Decimals.STRING)).isEqualTo(new BigDecimal("2.50"));
    }

    @Test
    void functionsAndCurrentTimesArePlaceholders() {
        assertThat(of("int4", "nextval('t_id_seq'::regclass)")).isEqualTo(0L);
        assertThat(of("uuid", "gen_random_uuid()")).isEqualTo("00000000-0000-0000-0000-000000000000");
        assertThat(of("timestamptz", "now()")).isEqualTo("1970-01-01T00:00:00Z");
        assertThat(of("timestamp", "CURRENT_TIMESTAMP")).isEqualTo("1970-01-01T00:00");
        assertThat(of("date", "CURRENT_DATE")).isEqualTo("1970-01-01");
        assertThat(of("text", "upper('x'::text)")).isEqualTo("");
        assertThat(of("jsonb", "jsonb_build_object()")).isEqualTo(new RawJson("{}"));
        assertThat(of("bool", "random() > 0.5")).isEqualTo(false);
    }

    @Test
    void noneForNullUnreadableAndUncoveredDefaults() {
        assertThat(of("int4", null)).isNull();
        assertThat(of("int4", "NULL::integer")).isNull();
        assertThat(of("text", "NULL::text")).isNull();
        assertThat(of("int4", "(1 + 2)")).isNull();
        assertThat(of("bytea", "'\\x00'::bytea")).isNull();
        assertThat(of("_int4", "'{1}'::integer[]")).isNull();
        assertThat(of("point", "'(1,2)'::point")).isNull();
    }

    @Test
    void anEnumsDefaultIsItsLabelWhenTheCastNamesTheEnum() {
        ColumnType mood = new ColumnType("m", "mood", -1, 'e', true, List.of("sad", "ok"), "'ok'::mood");
        assertThat(DebeziumDefaults.of(mood, Decimals.PRECISE)).isEqualTo("ok");
        ColumnType quoted = new ColumnType("m", "mood", -1, 'e', true, List.of("ok"), "'ok'::public.\"mood\"");
        assertThat(DebeziumDefaults.of(quoted, Decimals.PRECISE)).isEqualTo("ok");
        ColumnType other = new ColumnType("m", "mood", -1, 'e', true, List.of("ok"), "'ok'::other");
        assertThat(DebeziumDefaults.of(other, Decimals.PRECISE)).isNull();
    }

    @Test
    void aNullIsTheDefaultElseZeroForNotNullColumns() {
        assertThat(forNull("text", true, "'x'::text")).isEqualTo("x");
        assertThat(forNull("text", true, null)).isNull();
        assertThat(forNull("text", false, null)).isEqualTo("");
        assertThat(forNull("int4", false, null)).isEqualTo(0L);
        assertThat(forNull("int8", false, "5")).isEqualTo(5L);
        assertThat(forNull("float8", false, null)).isEqualTo(0.0d);
        assertThat(forNull("bool", false, null)).isEqualTo(false);
        assertThat(forNull("date", false, null)).isEqualTo("1970-01-01");
        assertThat(forNull("bytea", false, null)).isNull();
        assertThat(forNull("_int4", false, null)).isNull();
    }

    private static @Nullable Object forNull(String type, boolean optional, @Nullable String expression) {
        return DebeziumDefaults.forNull(new ColumnType("c", type, -1, 'b', optional, List.of(), expression),
                Decimals.PRECISE);
    }
}
