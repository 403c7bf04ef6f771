package io.deltaforge.yaml;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.EventFilter;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.SinkBinding;
import io.deltaforge.spi.CommitPolicy;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Source;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One pipeline as a YAML document describes it, with its source, sinks and envelopes already created by
 * their providers (created, not started: nothing has connected yet). Use it to adjust what YAML cannot
 * express before building, for example a shared meter registry.
 *
 * <pre>{@code
 * for (PipelineDefinition d : PipelineConfigLoader.create().definitions(Path.of("pipelines.yaml"))) {
 *     Pipeline p = d.toBuilder().meterRegistry(registry).build();
 *     p.start();
 * }
 * }</pre>
 *
 * @param name         {@code metadata.name}
 * @param tenant       {@code metadata.tenant}; null when not set
 * @param labels       {@code metadata.labels}; empty when not set
 * @param source       the source, not started
 * @param sinks        the sinks in document order, each with its envelope (null: the pipeline's) and
 *                     required flag
 * @param envelope     {@code spec.envelope}, the envelope of sinks that name none; null when not set
 * @param batch        {@code spec.batch}, with {@link BatchConfig#defaults()} for what is not set
 * @param commitPolicy {@code spec.commit_policy}
 * @param filter       {@code spec.filters} as one filter ({@link EventFilter#ALL} when not set); each sink's
 *                     own {@code filters} are in its {@link SinkBinding#filter()}
 * @param origin       where the document is, e.g. {@code pipelines.yaml:12}, for messages
 */
public record PipelineDefinition(String name, @Nullable String tenant, Map<String, String> labels, Source source,
                                 List<SinkBinding> sinks, @Nullable Envelope envelope, BatchConfig batch,
                                 CommitPolicy commitPolicy, EventFilter filter, String origin) {
    public PipelineDefinition {
        Objects.requireNonNull(name, "name");
        labels = Map.copyOf(labels);
        Objects.requireNonNull(source, "source");
        sinks = List.copyOf(sinks);
        Objects.requireNonNull(batch, "batch");
        Objects.requireNonNull(commitPolicy, "commitPolicy");
        Objects.requireNonNull(filter, "filter");
        Objects.requireNonNull(origin, "origin");
    }

    /** A new builder holding everything this definition says; each call gives a fresh builder. */
    public Pipeline.Builder toBuilder() {
        Pipeline.Builder b = Pipeline.builder().name(name).source(source).batch(batch).commitPolicy(commitPolicy)
                .filter(filter);
        if (envelope != null) {
            b.envelope(envelope);
        }
        sinks.forEach(b::sink);
        return b;
    }

    /**
     * Same as {@code toBuilder().build()}.
     *
     * @throws io.deltaforge.api.ConfigException when the builder rejects the settings (the loader has
     *         already checked them, so this is rare)
     */
    public Pipeline build() {
        return toBuilder().build();
    }
}
