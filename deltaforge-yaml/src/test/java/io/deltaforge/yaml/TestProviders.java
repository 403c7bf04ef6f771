package io.deltaforge.yaml;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.CommitPolicy;
import io.deltaforge.spi.CommitPolicyProvider;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.Sink;
import io.deltaforge.spi.SinkOutcome;
import io.deltaforge.spi.SinkProvider;
import io.deltaforge.spi.Source;
import io.deltaforge.spi.SourceProvider;
import io.deltaforge.spi.SourceRecord;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * Stand-ins for the real providers, registered in src/test/resources/META-INF/services, with the keys of
 * the seed YAML. Each created object keeps the settings it was given, so tests can look at them.
 */
final class TestProviders {
    private TestProviders() {
    }

    /** The keys a provider was handed (read before anything else, so every key shows up). */
    private static List<String> keysOf(ProviderConfig config) {
        return List.copyOf(config.unknownKeys());
    }

    public static final class TestSourceProvider implements SourceProvider {
        @Override
        public String type() {
            return "test-source";
        }

        @Override
        public Source create(ProviderConfig config) {
            List<String> keys = keysOf(config);
            Map<String, Object> settings = new LinkedHashMap<>();
            String id = config.requiredString("id");
            settings.put("dsn", config.string("dsn", ""));
            settings.put("slot", config.string("slot", "deltaforge"));
            settings.put("publication", config.string("publication", "deltaforge"));
            settings.put("tables", config.stringList("tables"));
            settings.put("start_position", config.string("start_position", "latest"));
            String failOnStart = config.string("fail_on_start");
            config.throwIfInvalid();
            return new TestSource(id, keys, settings, config.pipeline(), failOnStart);
        }
    }

    record TestSource(String id, List<String> keys, Map<String, Object> settings, ProviderConfig.PipelineInfo pipeline,
                      @Nullable String failOnStart) implements Source {
        @Override
        public void start() {
            if (failOnStart != null) {
                throw new DeltaforgeException(failOnStart);
            }
        }

        @Override
        public @Nullable SourceRecord poll(Duration timeout) throws InterruptedException {
            Thread.sleep(Math.min(timeout.toMillis(), 50));
            return null;
        }

        @Override
        public void acknowledge(Lsn position) {
        }

        @Override
        public void close() {
        }
    }

    public static final class TestSinkProvider implements SinkProvider {
        @Override
        public String type() {
            return "test-sink";
        }

        @Override
        public Sink create(ProviderConfig config) {
            List<String> keys = keysOf(config);
            Map<String, Object> settings = new LinkedHashMap<>();
            String id = config.requiredString("id");
            settings.put("url", config.string("url", "nats://127.0.0.1:4222"));
            settings.put("subject", config.string("subject", "events"));
            settings.put("stream", config.string("stream", "EVENTS"));
            settings.put("send_timeout_secs", config.integer("send_timeout_secs", 5, 1, 3600));
            settings.put("batch_timeout_secs", config.integer("batch_timeout_secs", 30, 1, 3600));
            config.throwIfInvalid();
            return new TestSink(id, keys, settings);
        }
    }

    record TestSink(String id, List<String> keys, Map<String, Object> settings) implements Sink {
        @Override
        public CompletionStage<Void> send(Batch batch) {
            return CompletableFuture.completedFuture(null);
        }
    }

    /** A sink provider that breaks its contract by throwing something other than a ConfigException. */
    public static final class BrokenSinkProvider implements SinkProvider {
        @Override
        public String type() {
            return "test-broken-sink";
        }

        @Override
        public Sink create(ProviderConfig config) {
            throw new IllegalStateException("boom");
        }
    }

    public static final class TestEnvelopeProvider implements EnvelopeProvider {
        @Override
        public String type() {
            return "test-envelope";
        }

        @Override
        public Envelope create(ProviderConfig config) {
            List<String> keys = keysOf(config);
            String prefix = config.string("type_prefix", "io.deltaforge");
            config.throwIfInvalid();
            return new TestEnvelope(prefix, keys);
        }
    }

    record TestEnvelope(String typePrefix, List<String> keys) implements Envelope {
        @Override
        public Message encode(io.deltaforge.api.ChangeEvent event) {
            return new Message(event.id(), Map.of(), "text/plain",
                    (typePrefix + ":" + event).getBytes(StandardCharsets.UTF_8));
        }
    }

    /** {@code mode: at-least}: at least {@code min} sinks delivered. */
    public static final class AtLeastPolicyProvider implements CommitPolicyProvider {
        @Override
        public String type() {
            return "at-least";
        }

        @Override
        public CommitPolicy create(ProviderConfig config) {
            int min = config.integer("min", 1, 1, 100);
            config.throwIfInvalid();
            return outcomes -> outcomes.stream().filter(SinkOutcome::delivered).count() >= min;
        }
    }
}
