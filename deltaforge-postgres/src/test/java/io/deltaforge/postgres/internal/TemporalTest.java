package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TemporalTest {

    @Test
    void timestamptzBecomesUtcWithMillisecondsAlwaysAndMicrosecondsWhenPresent() {
        assertThat(Temporal.timestampTz("2025-01-15 10:30:00+00")).isEqualTo("2025-01-15T10:30:00.000Z");
        assertThat(Temporal.timestampTz("2025-01-15 10:30:00.5+00")).isEqualTo("2025-01-15T10:30:00.500Z");
        assertThat(Temporal.timestampTz("2025-01-15 10:30:00.000001+00")).isEqualTo("2025-01-15T10:30:00.000001Z");
        assertThat(Temporal.timestampTz("2025-01-15 10:30:00.123456+00")).isEqualTo("2025-01-15T10:30:00.123456Z");
    }

    /** Every fraction length and digit pattern, against the rule written out independently of the code. */
    @Test
    void everyFractionLengthKeepsMillisecondsAlwaysAndMicrosecondsWhenNotZero() {
        String[] fractions = {"", "0", "5", "05", "50", "123", "100", "000", "1000", "0001", "1230", "12300", "120001",
                "000000", "999999", "000100", "000010"};
        for (String digits : fractions) {
            String fraction = digits.isEmpty() ? "" : "." + digits;
            String six = (digits + "000000").substring(0, 6);
            String expected = "." + (six.endsWith("000") ? six.substring(0, 3) : six);
            assertThat(Temporal.timestampTz("2026-12-06 05:11:19" + fraction + "+00"))
                    .isEqualTo("2026-12-06T05:11:19" + expected + "Z");
            assertThat(Temporal.timestamp("0000-02-29 23:59:60" + fraction))
                    .isEqualTo("0000-02-29T23:59:60" + expected);
            assertThat(Temporal.timestampTz("9999-12-31 00:00:00" + fraction + "-00"))
                    .isEqualTo("9999-12-31T00:00:00" + expected + "Z");
        }
    }

    @Test
    void textBesideThePlainFormTakesTheGeneralPath() {
        // The general path copies the month and day as they are; so must the shortcut, by not taking them.
        assertThat(Temporal.timestampTz("2025-1x-15 10:30:00+00")).isEqualTo("2025-1x-15T10:30:00.000Z");
        assertThat(Temporal.timestamp("2025-01-15 10:30:00 BC")).isEqualTo("-2024-01-15T10:30:00.000");
        assertThat(Temporal.timestampTz("2025-01-15 10:30:00.5+00 BC")).isEqualTo("-2024-01-15T10:30:00.500Z");
        assertThat(Temporal.timestamp("12025-01-15 10:30:00.25")).isEqualTo("+12025-01-15T10:30:00.250");
        assertThat(Temporal.timestampTz("2025-01-15 10:30:00+01")).isEqualTo("2025-01-15T09:30:00.000Z");
        assertThatThrownBy(() -> Temporal.timestampTz("2025-01-15 10:30:00.+00")).isInstanceOf(RuntimeException.class);
        assertThatThrownBy(() -> Temporal.timestampTz("2025-01-15 10:30:00,5+00")).isInstanceOf(RuntimeException.class);
        assertThatThrownBy(() -> Temporal.timestampTz("2025-01-15 10:30:00.1234567+00"))
                .isInstanceOf(RuntimeException.class);
        assertThatThrownBy(() -> Temporal.timestamp("2025-01-15 10:3x:00")).isInstanceOf(RuntimeException.class);
        assertThatThrownBy(() -> Temporal.timestamp("2025-01-15T10:30:00")).isInstanceOf(RuntimeException.class);
        assertThatThrownBy(() -> Temporal.timestamp("2025-01-15 10:30:00.12a")).isInstanceOf(RuntimeException.class);
    }

    @Test
    void timestamptzWithAnotherOffsetIsConvertedToUtc() {
        assertThat(Temporal.timestampTz("2025-01-15 12:30:00+02")).isEqualTo("2025-01-15T10:30:00.000Z");
        assertThat(Temporal.timestampTz("2025-01-15 05:00:00.25-05:30")).isEqualTo("2025-01-15T10:30:00.250Z");
        assertThat(Temporal.timestampTz("2025-01-01 00:10:00+00:10:00")).isEqualTo("2025-01-01T00:00:00.000Z");
        assertThat(Temporal.timestampTz("2025-01-01 01:00:00+02")).isEqualTo("2024-12-31T23:00:00.000Z");
    }

    @Test
    void bcAndFarFutureYearsUseIso8601YearNumbering() {
        assertThat(Temporal.timestampTz("0044-03-15 10:00:00.5+00 BC")).isEqualTo("-0043-03-15T10:00:00.500Z");
        assertThat(Temporal.timestampTz("0001-01-01 00:00:00+00 BC")).isEqualTo("0000-01-01T00:00:00.000Z");
        assertThat(Temporal.timestamp("4713-01-01 00:00:00 BC")).isEqualTo("-4712-01-01T00:00:00.000");
        assertThat(Temporal.timestamp("294276-12-31 23:59:59.999999")).isEqualTo("+294276-12-31T23:59:59.999999");
        assertThat(Temporal.date("0044-03-15 BC")).isEqualTo("-0043-03-15");
        assertThat(Temporal.date("12345-01-02")).isEqualTo("+12345-01-02");
    }

    @Test
    void infinityStaysText() {
        assertThat(Temporal.timestampTz("infinity")).isEqualTo("infinity");
        assertThat(Temporal.timestamp("-infinity")).isEqualTo("-infinity");
        assertThat(Temporal.date("infinity")).isEqualTo("infinity");
    }

    @Test
    void timesKeepTwentyFourOClockAndNormaliseOffsets() {
        assertThat(Temporal.time("10:30:00")).isEqualTo("10:30:00.000");
        assertThat(Temporal.time("24:00:00")).isEqualTo("24:00:00.000");
        assertThat(Temporal.time("00:00:00.000123")).isEqualTo("00:00:00.000123");
        assertThat(Temporal.timeTz("10:30:00+00")).isEqualTo("10:30:00.000+00:00");
        assertThat(Temporal.timeTz("10:30:00.5-05:30")).isEqualTo("10:30:00.500-05:30");
        assertThat(Temporal.timeTz("10:30:00+05:30:15")).isEqualTo("10:30:00.000+05:30:15");
    }

    @Test
    void iso8601IntervalsPassThrough() {
        assertThat(Temporal.interval("P1Y2M-3DT4H5M6.789S")).isEqualTo("P1Y2M-3DT4H5M6.789S");
        assertThat(Temporal.interval("PT0S")).isEqualTo("PT0S");
    }

    @Test
    void postgresStyleIntervalsBecomeWhatIso8601StyleWouldPrint() {
        assertThat(Temporal.interval("1 year 2 mons 3 days 04:05:06.789")).isEqualTo("P1Y2M3DT4H5M6.789S");
        assertThat(Temporal.interval("-1 years -2 mons +3 days -04:05:06.789")).isEqualTo("P-1Y-2M3DT-4H-5M-6.789S");
        assertThat(Temporal.interval("00:00:00")).isEqualTo("PT0S");
        assertThat(Temporal.interval("1 mon")).isEqualTo("P1M");
        assertThat(Temporal.interval("-00:00:01")).isEqualTo("PT-1S");
        assertThat(Temporal.interval("-00:00:00.5")).isEqualTo("PT-0.5S");
        assertThat(Temporal.interval("100:00:00.000001")).isEqualTo("PT100H0.000001S");
        assertThat(Temporal.interval("-178000000 years")).isEqualTo("P-178000000Y");
        assertThat(Temporal.interval("1 day 00:01:00")).isEqualTo("P1DT1M");
    }

    @Test
    void rejectsTextInOtherStyles() {
        assertThatThrownBy(() -> Temporal.timestampTz("Wed Jan 15 10:30:00 2025 UTC"))
                .isInstanceOf(RuntimeException.class);
        assertThatThrownBy(() -> Temporal.date("15/01/2025")).isInstanceOf(RuntimeException.class);
        assertThatThrownBy(() -> Temporal.interval("@ 1 year")).isInstanceOf(RuntimeException.class);
    }
}
