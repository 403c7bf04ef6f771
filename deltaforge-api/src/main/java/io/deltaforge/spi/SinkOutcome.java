package io.deltaforge.spi;

import java.util.Objects;

/**
 * How far one sink got with one batch, as a {@link CommitPolicy} sees it.
 *
 * @param sinkId   the sink's id
 * @param required whether the sink was configured as required
 * @param state    pending, delivered, or failed for good
 */
public record SinkOutcome(String sinkId, boolean required, State state) {
    public SinkOutcome {
        Objects.requireNonNull(sinkId, "sinkId");
        Objects.requireNonNull(state, "state");
    }

    public enum State {
        /** Sent (or being retried), not yet confirmed. */
        PENDING,
        /** Durably accepted by the sink. */
        DELIVERED,
        /** Failed permanently; only possible for sinks that are not required. */
        FAILED
    }

    public boolean delivered() {
        return state == State.DELIVERED;
    }
}
