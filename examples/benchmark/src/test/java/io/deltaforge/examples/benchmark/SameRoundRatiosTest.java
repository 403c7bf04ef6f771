package io.deltaforge.examples.benchmark;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SameRoundRatiosTest {
    private static final String L2 = "L2";

    private static Map<String, Object> run(String contender, int round, double steady) {
        return Map.of("contender", contender, "round", round, "steady_events_per_s", steady);
    }

    @Test
    void eachRoundIsDividedByTheReferenceOfThatRoundAndJudgedOnTheMedian() {
        List<Map<String, Object>> runs = List.of(
                run("deltaforge", 1, 80), run("twin", 1, 95), run(L2, 1, 100),
                run("twin", 2, 150), run("deltaforge", 2, 190), run(L2, 2, 200),
                run("deltaforge", 3, 95), run(L2, 3, 100));

        List<SameRoundRatios> ratios = SameRoundRatios.of(runs, L2, "steady_events_per_s", 0.9);

        assertThat(ratios).extracting(SameRoundRatios::contender).containsExactly("deltaforge", "twin");
        SameRoundRatios ours = ratios.get(0);
        assertThat(ours.perRound()).containsExactly(0.8, 0.95, 0.95);
        assertThat(ours.median()).isEqualTo(0.95);
        assertThat(ours.roundsMeetingTarget()).isEqualTo(2);
        assertThat(ours.met()).isTrue();
        // Two rounds: the median is the middle of them, and 0.85 misses the target.
        assertThat(ratios.get(1).median()).isEqualTo(0.85);
        assertThat(ratios.get(1).met()).isFalse();
        assertThat(ratios.get(1).line())
                .contains("steady x L2", "0.950 / 0.750", "median 0.850", "1 of 2 rounds >= 0.9", "NOT met");
    }

    @Test
    void aRoundWithoutTheReferenceIsLeftOutAndAFigureMayBeText() {
        // L2's figures come from its child process's output, as text.
        Map<String, Object> l2 = Map.of("contender", L2, "round", 1, "steady_events_per_s", "100.0");
        List<Map<String, Object>> runs = List.of(run("deltaforge", 1, 90), l2, run("deltaforge", 2, 10));

        SameRoundRatios ours = SameRoundRatios.of(runs, L2, "steady_events_per_s", 0.9).get(0);

        assertThat(ours.perRound()).containsExactly(0.9);
        assertThat(ours.toJson()).containsEntry("reference", L2).containsEntry("median", 0.9)
                .containsEntry("rounds_meeting_target", 1L).containsEntry("met", true);
    }
}
