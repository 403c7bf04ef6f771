package io.deltaforge.spring.boot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.core.io.Resource;

/**
 * The {@code deltaforge.*} properties. Pipelines are described in {@code deltaforge/v1} YAML (the same files
 * the runner reads); these properties say where that YAML is, how the pipelines run with the application,
 * and which of the application's beans they use besides what the YAML names.
 *
 * <pre>
 * deltaforge.config=classpath:pipeline.yaml
 * deltaforge.drain-timeout=20s
 * deltaforge.pipelines.users.sinks=auditSink
 * deltaforge.pipelines.users.envelope=myEnvelope
 * </pre>
 */
@ConfigurationProperties(prefix = "deltaforge")
public class DeltaforgeProperties {
    // Field comments become the IDE's help text (configuration metadata): plain text, no Javadoc tags.

    /** Whether to create and run the pipelines at all. */
    private boolean enabled = true;

    /**
     * The deltaforge/v1 YAML files, e.g. classpath:pipeline.yaml; one pipeline per YAML document, names
     * unique across all. ${VAR} in them resolves from the Spring environment.
     */
    private List<Resource> config = new ArrayList<>();

    /**
     * How long stopping the application waits for each pipeline's in-flight deliveries; what is not
     * delivered by then is replayed after a restart. Keep it below
     * spring.lifecycle.timeout-per-shutdown-phase.
     */
    private Duration drainTimeout = Duration.ofSeconds(30);

    /** Per pipeline (by its metadata.name): beans of the application that the pipeline uses. */
    private Map<String, PipelineBeans> pipelines = new LinkedHashMap<>();

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public List<Resource> getConfig() {
        return config;
    }

    public void setConfig(List<Resource> config) {
        this.config = config;
    }

    public Duration getDrainTimeout() {
        return drainTimeout;
    }

    public void setDrainTimeout(Duration drainTimeout) {
        this.drainTimeout = drainTimeout;
    }

    public Map<String, PipelineBeans> getPipelines() {
        return pipelines;
    }

    public void setPipelines(Map<String, PipelineBeans> pipelines) {
        this.pipelines = pipelines;
    }

    /** Beans that one pipeline takes from the application context. */
    public static class PipelineBeans {
        /**
         * Names of Sink or SinkBinding beans added to the pipeline after the sinks its YAML lists; a plain
         * Sink is required and uses the pipeline's envelope.
         */
        private List<String> sinks = new ArrayList<>();

        /** Name of an Envelope bean that replaces the YAML's spec.envelope. */
        private @Nullable String envelope;

        public List<String> getSinks() {
            return sinks;
        }

        public void setSinks(List<String> sinks) {
            this.sinks = sinks;
        }

        public @Nullable String getEnvelope() {
            return envelope;
        }

        public void setEnvelope(@Nullable String envelope) {
            this.envelope = envelope;
        }
    }
}
