package io.deltaforge.spring.boot;

import io.deltaforge.api.PipelineStatus;
import org.jspecify.annotations.Nullable;

/**
 * A pipeline's status as health details and the endpoint show it: plain values that serialise to JSON.
 *
 * @param state           the life-cycle state, e.g. {@code RUNNING}
 * @param checkpoint      the last position acknowledged to the source, e.g. {@code 0/16B3748}; null before the first
 * @param eventsReceived  events taken from the source since start
 * @param eventsDelivered events whose batch satisfied the commit policy
 * @param failure         why the pipeline failed; null unless it did
 */
public record PipelineView(String state, @Nullable String checkpoint, long eventsReceived, long eventsDelivered,
                           @Nullable String failure) {
    static PipelineView of(PipelineStatus status) {
        return new PipelineView(status.state().name(),
                status.checkpoint() == null ? null : status.checkpoint().toString(),
                status.eventsReceived(), status.eventsDelivered(),
                status.failure() == null ? null : String.valueOf(status.failure().getMessage()));
    }
}
