package io.deltaforge.envelopes.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class Rfc3339Test {
    @Test
    void alwaysWritesAtLeastMillisecondsInUtc() {
        assertThat(Rfc3339.format(Instant.parse("2025-01-15T10:30:00Z"))).isEqualTo("2025-01-15T10:30:00.000Z");
        assertThat(Rfc3339.format(Instant.EPOCH)).isEqualTo("1970-01-01T00:00:00.000Z");
        assertThat(Rfc3339.format(Instant.parse("1969-12-31T23:59:59.999Z"))).isEqualTo("1969-12-31T23:59:59.999Z");
    }

    @Test
    void keepsMicrosecondsAndNanosecondsWhenPresent() {
        assertThat(Rfc3339.format(Instant.parse("2025-01-15T10:30:00.000001Z"))).isEqualTo("2025-01-15T10:30:00.000001Z");
        assertThat(Rfc3339.format(Instant.parse("2024-02-29T23:59:59.123456789Z")))
                .isEqualTo("2024-02-29T23:59:59.123456789Z");
    }

    @Test
    void agreesWithTheJdkParserOverManyInstants() {
        for (long s = -5_000_000_000L; s < 250_000_000_000L; s += 987_654_321L) {
            Instant t = Instant.ofEpochSecond(s, (s & 1) == 0 ? 0 : 123_456_000);
            assertThat(Instant.parse(Rfc3339.format(t))).isEqualTo(t);
        }
    }
}
