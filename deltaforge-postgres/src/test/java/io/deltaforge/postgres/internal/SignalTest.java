package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class SignalTest {
    @Test
    void parsesASnapshotSignal() {
        Signal s = Signal.parse(" {\"type\":\"snapshot\", \"slot\":\"s1\", \"tables\":[\"public.users\", \"a.\\\"b\\\"\"],"
                + " \"condition\":\"id > 1\", \"extra\": {\"n\": [1, 2.5, true, null]}} ");
        assertThat(s.type()).isEqualTo("snapshot");
        assertThat(s.slot()).isEqualTo("s1");
        assertThat(s.source()).isNull();
        assertThat(s.tables()).containsExactly("public.users", "a.\"b\"");
        assertThat(s.condition()).isEqualTo("id > 1");
    }

    @Test
    void isForTheNamedSourceOrSlotOrAnyWhenUnnamed() {
        assertThat(new Signal("snapshot", null, null, List.of(), null).isFor("src", "slot")).isTrue();
        assertThat(new Signal("snapshot", "src", null, List.of(), null).isFor("src", "slot")).isTrue();
        assertThat(new Signal("snapshot", null, "other", List.of(), null).isFor("src", "slot")).isFalse();
        assertThat(new Signal("snapshot", "other", "slot", List.of(), null).isFor("src", "slot")).isFalse();
    }

    @Test
    void rejectsBadContentNamingTheProblem() {
        assertThatThrownBy(() -> Signal.parse("not json")).hasMessageContaining("invalid JSON");
        assertThatThrownBy(() -> Signal.parse("[1]")).hasMessageContaining("not a JSON object");
        assertThatThrownBy(() -> Signal.parse("{\"tables\":[]}")).hasMessageContaining("\"type\"");
        assertThatThrownBy(() -> Signal.parse("{\"type\":\"snapshot\",\"tables\":\"t\"}"))
                .hasMessageContaining("must be an array");
        assertThatThrownBy(() -> Signal.parse("{\"type\":\"snapshot\",\"tables\":[1]}"))
                .hasMessageContaining("strings");
        assertThatThrownBy(() -> Signal.parse("{\"type\":\"snapshot\"")).hasMessageContaining("invalid JSON");
    }
}
