package io.deltaforge.spring.boot;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.SnapshotRequest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.lang.Nullable;

/**
 * The Actuator endpoint {@code deltaforge}: the pipelines' status, and pause, resume and snapshot.
 *
 * <ul>
 *   <li>{@code GET /actuator/deltaforge}: every pipeline's status by name</li>
 *   <li>{@code GET /actuator/deltaforge/{pipeline}}: one pipeline's status</li>
 *   <li>{@code POST /actuator/deltaforge/{pipeline}/pause}, {@code .../resume}</li>
 *   <li>{@code POST /actuator/deltaforge/{pipeline}/snapshot} with
 *       {@code {"tables": ["public.users"], "condition": "id > 100"}} (condition optional)</li>
 * </ul>
 *
 * <p>Like every endpoint it is reachable over HTTP only once exposed
 * ({@code management.endpoints.web.exposure.include}), and Actuator's own access rules and the
 * application's security apply: expose the write operations only behind authentication, or keep them off
 * with {@code management.endpoint.deltaforge.access=read-only}.
 */
@Endpoint(id = "deltaforge")
public class DeltaforgeEndpoint {
    private final DeltaforgePipelines pipelines;

    public DeltaforgeEndpoint(DeltaforgePipelines pipelines) {
        this.pipelines = Objects.requireNonNull(pipelines, "pipelines");
    }

    @ReadOperation
    public Map<String, PipelineView> pipelines() {
        Map<String, PipelineView> out = new LinkedHashMap<>();
        pipelines.pipelines().forEach(p -> out.put(p.name(), PipelineView.of(p.status())));
        return out;
    }

    /** Null (404) for an unknown pipeline. */
    @ReadOperation
    public @Nullable PipelineView pipeline(@Selector String name) {
        return pipelines.pipeline(name).map(p -> PipelineView.of(p.status())).orElse(null);
    }

    /**
     * Pauses, resumes or snapshots one pipeline; returns its status afterwards, or null (404) for an unknown
     * pipeline.
     *
     * @param action    {@code pause}, {@code resume} or {@code snapshot}
     * @param tables    for {@code snapshot}: the tables to re-read
     * @param condition for {@code snapshot}: which rows, in the filter language of {@link SnapshotRequest}
     * @throws InvalidEndpointRequestException (400) for an unknown action or a bad snapshot request
     */
    @WriteOperation
    public @Nullable PipelineView control(@Selector String name, @Selector String action,
                                          @Nullable List<String> tables, @Nullable String condition) {
        Pipeline pipeline = pipelines.pipeline(name).orElse(null);
        if (pipeline == null) {
            return null;
        }
        switch (action) {
            case "pause" -> pipeline.pause();
            case "resume" -> pipeline.resume();
            case "snapshot" -> snapshot(pipeline, tables, condition);
            default -> throw new InvalidEndpointRequestException("unknown action '" + action
                    + "'; use pause, resume or snapshot", "unknown action");
        }
        return PipelineView.of(pipeline.status());
    }

    private static void snapshot(Pipeline pipeline, @Nullable List<String> tables, @Nullable String condition) {
        try {
            pipeline.snapshot(new SnapshotRequest(tables == null ? List.of() : tables, condition));
        } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException
                 | ConfigException e) {
            throw new InvalidEndpointRequestException("snapshot of pipeline '" + pipeline.name() + "': "
                    + e.getMessage(), "bad snapshot request");
        }
    }
}
