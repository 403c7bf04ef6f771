package io.deltaforge.api.internal;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineStatus;
import io.deltaforge.api.SinkBinding;
import io.deltaforge.spi.CommitPolicy;
import io.deltaforge.spi.Source;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/** Placeholder while the engine is written. */
public final class Engine implements Pipeline {
    public record Settings(String name, Source source, List<SinkBinding> sinks, BatchConfig batch,
                           CommitPolicy commitPolicy, int queueCapacity, int maxInFlightBatches,
                           Duration retryInitialBackoff, Duration retryMaxBackoff,
                           @Nullable MeterRegistry meterRegistry) {
    }

    private final Settings settings;

    public Engine(Settings settings) {
        this.settings = settings;
    }

    @Override public String name() { return settings.name(); }
    @Override public void start() { throw new UnsupportedOperationException(); }
    @Override public void stop() { throw new UnsupportedOperationException(); }
    @Override public boolean stop(Duration d) { throw new UnsupportedOperationException(); }
    @Override public boolean awaitTermination(Duration t) { throw new UnsupportedOperationException(); }
    @Override public CompletionStage<Void> termination() { throw new UnsupportedOperationException(); }
    @Override public PipelineStatus status() { throw new UnsupportedOperationException(); }
    @Override public void close() { stop(); }
}
