package io.deltaforge.spring.boot;

import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineStatus;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The pipelines' health, for the health indicators of Boot 3 and Boot 4 (which moved health to other
 * classes). DOWN when any pipeline has failed, or stopped while the application runs; UP otherwise,
 * including while a pipeline is paused or reconnecting: it is not broken, and a restart would not help.
 *
 * @param up      whether every pipeline is healthy
 * @param details each pipeline's status by name
 */
record DeltaforgeHealth(boolean up, Map<String, PipelineView> details) {
    static DeltaforgeHealth of(DeltaforgePipelines pipelines) {
        boolean up = true;
        Map<String, PipelineView> details = new LinkedHashMap<>();
        for (Pipeline pipeline : pipelines.pipelines()) {
            PipelineStatus status = pipeline.status();
            up &= status.healthy() && !(pipelines.isRunning() && isStopped(status));
            details.put(pipeline.name(), PipelineView.of(status));
        }
        return new DeltaforgeHealth(up, details);
    }

    private static boolean isStopped(PipelineStatus status) {
        return switch (status.state()) {
            case STOPPING, STOPPED -> true;
            default -> false;
        };
    }
}
