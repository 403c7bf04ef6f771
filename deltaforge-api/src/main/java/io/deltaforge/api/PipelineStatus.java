package io.deltaforge.api;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A snapshot of a pipeline's health, cheap to take from any thread.
 *
 * @param name            the pipeline's name
 * @param state           its life-cycle state
 * @param checkpoint      the last position acknowledged to the source; null before the first
 * @param eventsReceived  events taken from the source since start (replays included)
 * @param eventsDelivered events whose batch satisfied the commit policy
 * @param failure         why the pipeline failed; null unless {@code state} is FAILED
 * @param degraded        why the running pipeline should not count as ready (from
 *                        {@link io.deltaforge.spi.Source#degraded()}, e.g. replication lag over a limit); null
 *                        when it is fine
 */
public record PipelineStatus(String name, PipelineState state, @Nullable Lsn checkpoint, long eventsReceived,
                             long eventsDelivered, @Nullable Throwable failure, @Nullable String degraded) {
    public PipelineStatus {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(state, "state");
    }

    /** A status that is not degraded. */
    public PipelineStatus(String name, PipelineState state, @Nullable Lsn checkpoint, long eventsReceived,
                          long eventsDelivered, @Nullable Throwable failure) {
        this(name, state, checkpoint, eventsReceived, eventsDelivered, failure, null);
    }

    /** Running and not degraded: what a readiness probe should accept. */
    public boolean ready() {
        return state == PipelineState.RUNNING && degraded == null;
    }

    /** Running or starting, and not failed. */
    public boolean healthy() {
        return state != PipelineState.FAILED;
    }
}
