package io.deltaforge.examples.benchmark;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.stream.Collectors;

/**
 * One contender's W1 figure as a ratio to a reference's (L2, or Debezium) in the same round, round by round, and
 * their median over the rounds. A target is judged on the median over many rounds: a single round's ratio moves
 * with the box's speed in its minutes and with the drain's turn in the round, by up to 0.355 × L2 between two
 * identical runner processes of one round (runs R21–R27 in docs/performance.md).
 *
 * @param contender the contender's label
 * @param reference the reference's label
 * @param figure    the W1 figure's key in the results ({@code cold_events_per_s} or {@code steady_events_per_s})
 * @param target    the ratio the figure should reach
 * @param perRound  the ratio in each round, in round order, unrounded
 */
record SameRoundRatios(String contender, String reference, String figure, double target, List<Double> perRound) {
    SameRoundRatios {
        perRound = List.copyOf(perRound);
    }

    /**
     * The ratios of every contender in {@code runs} but {@code reference} to it, for one figure. A round whose
     * reference has no such figure (its process failed) is left out, as is a contender with no round left.
     */
    static List<SameRoundRatios> of(List<Map<String, Object>> runs, String reference, String figure, double target) {
        Map<Object, Double> referenceByRound = new LinkedHashMap<>();
        for (Map<String, Object> run : runs) {
            OptionalDouble value = number(run.get(figure));
            if (reference.equals(run.get("contender")) && value.isPresent() && value.getAsDouble() > 0) {
                referenceByRound.put(run.get("round"), value.getAsDouble());
            }
        }
        Map<String, List<Double>> byContender = new LinkedHashMap<>();
        for (Map<String, Object> run : runs) {
            String label = String.valueOf(run.get("contender"));
            Double base = referenceByRound.get(run.get("round"));
            OptionalDouble value = number(run.get(figure));
            if (!label.equals(reference) && base != null && value.isPresent()) {
                byContender.computeIfAbsent(label, k -> new ArrayList<>()).add(value.getAsDouble() / base);
            }
        }
        return byContender.entrySet().stream()
                .map(e -> new SameRoundRatios(e.getKey(), reference, figure, target, e.getValue()))
                .toList();
    }

    double median() {
        List<Double> sorted = perRound.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    double mean() {
        return perRound.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    }

    /** Compared unrounded: 0.8999 does not meet 0.9. */
    long roundsMeetingTarget() {
        return perRound.stream().filter(r -> r >= target).count();
    }

    boolean met() {
        return median() >= target;
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("contender", contender);
        m.put("reference", reference);
        m.put("figure", figure);
        m.put("target", target);
        m.put("per_round", perRound.stream().map(SameRoundRatios::round3).toList());
        m.put("median", round3(median()));
        m.put("mean", round3(mean()));
        m.put("rounds_meeting_target", roundsMeetingTarget());
        m.put("met", met());
        return m;
    }

    /** One line of the table: the verdict first, the rounds last, since their number varies. */
    String line() {
        String perRoundText = perRound.stream().map(r -> String.format(Locale.ROOT, "%.3f", r))
                .collect(Collectors.joining(" / "));
        return String.format(Locale.ROOT, "%-24s %-6s x %-8s median %.3f  %-7s %d of %d rounds >= %.1f: %s",
                contender, figure.replace("_events_per_s", ""), reference.split(" ")[0], median(),
                met() ? "met" : "NOT met", roundsMeetingTarget(), perRound.size(), target, perRoundText);
    }

    /** A figure as a child process printed it (text) or as measured here (a number); empty when it is neither. */
    private static OptionalDouble number(Object figure) {
        if (figure instanceof Number n) {
            return OptionalDouble.of(n.doubleValue());
        }
        try {
            return figure == null ? OptionalDouble.empty() : OptionalDouble.of(Double.parseDouble(figure.toString()));
        } catch (NumberFormatException notANumber) {
            return OptionalDouble.empty();
        }
    }

    private static double round3(double d) {
        return Math.round(d * 1000) / 1000.0;
    }
}
