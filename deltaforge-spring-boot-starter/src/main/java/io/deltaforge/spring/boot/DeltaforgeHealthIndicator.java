package io.deltaforge.spring.boot;

import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineStatus;
import java.util.Objects;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * DOWN when any pipeline has failed or stopped while the application runs; UP otherwise, including while
 * a pipeline is paused or reconnecting (it is not broken, and a restart would not help). The details hold
 * each pipeline's state, checkpoint and counters.
 */
public class DeltaforgeHealthIndicator extends AbstractHealthIndicator {
    private final DeltaforgePipelines pipelines;

    public DeltaforgeHealthIndicator(DeltaforgePipelines pipelines) {
        super("DeltaForge health check failed");
        this.pipelines = Objects.requireNonNull(pipelines, "pipelines");
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        boolean up = true;
        for (Pipeline pipeline : pipelines.pipelines()) {
            PipelineStatus status = pipeline.status();
            up &= status.healthy() && !(pipelines.isRunning() && isStopped(status));
            builder.withDetail(pipeline.name(), PipelineView.of(status));
        }
        if (up) {
            builder.up();
        } else {
            builder.down();
        }
    }

    private static boolean isStopped(PipelineStatus status) {
        return switch (status.state()) {
            case STOPPING, STOPPED -> true;
            default -> false;
        };
    }
}
