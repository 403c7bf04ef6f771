package io.deltaforge.spi;

import java.util.List;
import java.util.Objects;

/**
 * Decides when a batch counts as delivered, so that the source may be acknowledged past it. The engine
 * asks again each time a sink finishes with the batch; once the answer is yes it stays yes.
 *
 * <pre>{@code
 * CommitPolicy p = CommitPolicy.required().and(CommitPolicy.quorum(2));
 * }</pre>
 *
 * <p>Whatever the policy, a required sink's batch is never skipped: it is retried until delivered or the
 * pipeline fails.
 */
@FunctionalInterface
public interface CommitPolicy {
    /**
     * @param outcomes one per sink of the pipeline, in configuration order
     * @return whether the batch may be committed now
     */
    boolean isSatisfied(List<SinkOutcome> outcomes);

    /** Every sink delivered. */
    static CommitPolicy all() {
        return outcomes -> outcomes.stream().allMatch(SinkOutcome::delivered);
    }

    /** Every sink configured as required delivered (the default). */
    static CommitPolicy required() {
        return outcomes -> outcomes.stream().filter(SinkOutcome::required).allMatch(SinkOutcome::delivered);
    }

    /** At least {@code n} sinks delivered, and every required one. */
    static CommitPolicy quorum(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("quorum must be at least 1, was " + n);
        }
        return required().and(outcomes -> outcomes.stream().filter(SinkOutcome::delivered).count() >= n);
    }

    default CommitPolicy and(CommitPolicy other) {
        Objects.requireNonNull(other, "other");
        return outcomes -> isSatisfied(outcomes) && other.isSatisfied(outcomes);
    }

    default CommitPolicy or(CommitPolicy other) {
        Objects.requireNonNull(other, "other");
        return outcomes -> isSatisfied(outcomes) || other.isSatisfied(outcomes);
    }
}
