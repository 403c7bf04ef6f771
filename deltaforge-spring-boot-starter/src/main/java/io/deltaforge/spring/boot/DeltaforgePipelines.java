package io.deltaforge.spring.boot;

import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * The application's pipelines, started when the application context has refreshed and stopped gracefully
 * when it closes: each stop stops reading, delivers what was read, acknowledges it to the source and waits
 * at most the drain timeout for that.
 *
 * <p>A pipeline that cannot start for good (bad configuration, missing stream or publication) fails the
 * application's start-up; one that meets a passing error keeps retrying in the background and shows in
 * health.
 */
public class DeltaforgePipelines implements SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(DeltaforgePipelines.class);

    private final Map<String, Pipeline> pipelines;
    private final Duration drainTimeout;
    private volatile boolean running;

    /**
     * @param pipelines    built, not started; names must be unique
     * @param drainTimeout how long each stop waits for in-flight deliveries
     */
    public DeltaforgePipelines(List<Pipeline> pipelines, Duration drainTimeout) {
        Map<String, Pipeline> byName = new LinkedHashMap<>();
        for (Pipeline p : pipelines) {
            if (byName.putIfAbsent(p.name(), p) != null) {
                throw new IllegalArgumentException("pipeline name '" + p.name() + "' is used twice; "
                        + "give each pipeline its own metadata.name");
            }
        }
        this.pipelines = Collections.unmodifiableMap(byName);
        this.drainTimeout = Objects.requireNonNull(drainTimeout, "drainTimeout");
    }

    /** The pipelines in configuration order. */
    public List<Pipeline> pipelines() {
        return List.copyOf(pipelines.values());
    }

    public Optional<Pipeline> pipeline(String name) {
        return Optional.ofNullable(pipelines.get(name));
    }

    @Override
    public void start() {
        List<Pipeline> started = new ArrayList<>();
        try {
            for (Pipeline p : pipelines()) {
                p.start();
                started.add(p);
            }
        } catch (RuntimeException e) {
            // The context will not call stop() after a failed start, so the ones already running stop here.
            started.forEach(p -> p.stop(drainTimeout));
            throw e;
        }
        running = true;
    }

    @Override
    public void stop() {
        for (Pipeline p : pipelines()) {
            if (p.status().state() == PipelineState.NEW) {
                continue;
            }
            if (!p.stop(drainTimeout)) {
                log.warn("Pipeline '{}' stopped before all in-flight deliveries finished within {}; "
                        + "they are replayed on the next start", p.name(), drainTimeout);
            }
        }
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
