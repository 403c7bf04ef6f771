package io.deltaforge.yaml.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SuggestionsTest {
    @Test
    void suggestsTheClosestCandidateWithinTwoEdits() {
        List<String> keys = List.of("max_events", "max_bytes", "max_ms");

        assertThat(Suggestions.closest("max_event", keys)).isEqualTo("max_events");
        assertThat(Suggestions.closest("MAX_BYTES", keys)).isEqualTo("max_bytes");
        assertThat(Suggestions.closest("mx_m", keys)).isEqualTo("max_ms");
        assertThat(Suggestions.closest("timeout", keys)).isNull();
    }

    @Test
    void distanceIsLevenshtein() {
        assertThat(Suggestions.distance("kitten", "sitting")).isEqualTo(3);
        assertThat(Suggestions.distance("", "abc")).isEqualTo(3);
        assertThat(Suggestions.distance("same", "same")).isZero();
    }
}
