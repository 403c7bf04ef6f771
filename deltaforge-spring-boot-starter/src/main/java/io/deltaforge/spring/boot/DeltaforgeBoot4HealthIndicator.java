package io.deltaforge.spring.boot;

import java.util.Objects;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/** The pipelines' health on Spring Boot 4 (see {@link DeltaforgeHealth}); details hold each pipeline's status. */
public class DeltaforgeBoot4HealthIndicator extends AbstractHealthIndicator {
    private final DeltaforgePipelines pipelines;

    public DeltaforgeBoot4HealthIndicator(DeltaforgePipelines pipelines) {
        super("DeltaForge health check failed");
        this.pipelines = Objects.requireNonNull(pipelines, "pipelines");
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        DeltaforgeHealth health = DeltaforgeHealth.of(pipelines);
        (health.up() ? builder.up() : builder.down()).withDetails(health.details());
    }
}
