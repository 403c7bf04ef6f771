package io.deltaforge.examples.benchmark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SameRoundRatiosTest {
    private static final String L2 = "L2";
    private static final String STEADY = "steady_events_per_s";

    private static Map<String, Object> run(String contender, int round, Object steady) {
        return Map.of("contender", contender, "round", round, STEADY, steady);
    }

    @Test
    void eachRoundIsDividedByTheReferenceOfThatRoundAndJudgedOnTheMedian() {
        List<Map<String, Object>> runs = List.of(
                run("deltaforge", 1, 95), run("twin", 1, 95), run(L2, 1, 100),
                run("twin", 2, 150), run("deltaforge", 2, 160), run(L2, 2, 200),
                run("deltaforge", 3, 90), run(L2, 3, 100));

        List<SameRoundRatios> ratios = SameRoundRatios.of(runs, L2, STEADY, 0.9);

        assertThat(ratios).extracting(SameRoundRatios::contender).containsExactly("deltaforge", "twin");
        SameRoundRatios ours = ratios.get(0);
        // Unsorted on purpose: 0.95, 0.8, 0.9 has 0.9 in the middle once sorted.
        assertThat(ours.perRound()).containsExactly(0.95, 0.8, 0.9);
        assertThat(ours.median()).isEqualTo(0.9);
        assertThat(ours.mean()).isCloseTo(0.883, within(0.001));
        assertThat(ours.roundsMeetingTarget()).isEqualTo(2);
        assertThat(ours.met()).isTrue();
        // Two rounds: the middle of 0.95 and 0.75, which misses the target.
        assertThat(ratios.get(1).median()).isCloseTo(0.85, within(1e-9));
        assertThat(ratios.get(1).met()).isFalse();
        assertThat(ratios.get(1).line())
                .contains("steady x L2", "median 0.850", "NOT met", "1 of 2 rounds >= 0.9", "0.950 / 0.750");
    }

    @Test
    void aRatioJustBelowTheTargetMissesItThoughItPrintsAsTheTarget() {
        SameRoundRatios ours = SameRoundRatios.of(List.of(run("deltaforge", 1, 89.99), run(L2, 1, 100)), L2, STEADY,
                0.9).get(0);

        assertThat(ours.roundsMeetingTarget()).isZero();
        assertThat(ours.met()).isFalse();
        assertThat(ours.toJson()).containsEntry("per_round", List.of(0.9)).containsEntry("met", false);
    }

    @Test
    void roundsWithoutAReferenceFigureAreLeftOutAndAFigureMayBeText() {
        // L2's figures come from its child process's output, as text; a failed child printed none.
        List<Map<String, Object>> runs = List.of(
                run("deltaforge", 1, 90), run(L2, 1, "100.0"),
                run("deltaforge", 2, 10), Map.of("contender", L2, "round", 2, "exit_code", 143),
                run("deltaforge", 3, 10));

        SameRoundRatios ours = SameRoundRatios.of(runs, L2, STEADY, 0.9).get(0);

        assertThat(ours.perRound()).containsExactly(0.9);
        assertThat(ours.toJson()).containsEntry("reference", L2).containsEntry("median", 0.9)
                .containsEntry("rounds_meeting_target", 1L).containsEntry("met", true);
        assertThat(SameRoundRatios.of(runs.subList(2, 5), L2, STEADY, 0.9)).isEmpty();
    }

    @Test
    void aLineAgainstDebeziumNamesIt() {
        List<Map<String, Object>> runs = List.of(
                Map.of("contender", "deltaforge", "round", 1, "cold_events_per_s", 60_000.0),
                Map.of("contender", "debezium", "round", 1, "cold_events_per_s", 16_000.0));

        assertThat(SameRoundRatios.of(runs, "debezium", "cold_events_per_s", 2.5).get(0).line())
                .contains("cold   x debezium", "median 3.750", "met", "1 of 1 rounds >= 2.5: 3.750");
    }
}
