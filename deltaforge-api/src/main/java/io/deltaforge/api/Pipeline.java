package io.deltaforge.api;

import io.deltaforge.api.internal.Engine;
import io.deltaforge.spi.CommitPolicy;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Sink;
import io.deltaforge.spi.Source;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * One source streaming into one or more sinks, with at-least-once delivery that the sinks' de-duplication
 * turns into exactly-once: the source is acknowledged only up to the last transaction that every required
 * sink has durably accepted.
 *
 * <pre>{@code
 * Pipeline p = Pipeline.builder()
 *     .source(PostgresSource.builder().dsn(dsn).slot("deltaforge_users").publication("users_pub").build())
 *     .sink(NatsSink.builder().url(natsUrl).stream("USERS").subject("users.events").build())
 *     .envelope(CloudEventsEnvelope.withTypePrefix("com.acme.users"))
 *     .build();
 * p.start();
 * ...
 * p.stop();
 * }</pre>
 *
 * <p>Thread-safe: every method may be called from any thread. Two pipelines share nothing.
 */
public interface Pipeline extends AutoCloseable {
    static Builder builder() {
        return new Builder();
    }

    String name();

    /**
     * Starts the sinks and the source. Returns once the source streams, or once its first attempt failed
     * with a passing error (it then keeps retrying in the background: see {@link #status()}).
     *
     * @throws DeltaforgeException when a sink or the source cannot start for good (bad configuration,
     *         missing stream or publication); the pipeline is then FAILED and released
     * @throws IllegalStateException when called twice
     */
    void start();

    /**
     * Stops gracefully: stops reading, delivers what was read, acknowledges it to the source, closes.
     * Waits up to 30 seconds for deliveries; what is not delivered by then is replayed after a restart.
     * A second call, or a call on a failed pipeline, returns at once.
     */
    void stop();

    /** Like {@link #stop()} with a chosen wait for in-flight deliveries; true if everything was delivered. */
    boolean stop(Duration drainTimeout);

    /**
     * Stops taking changes from the source until {@link #resume()} (a read already under way finishes
     * first, so it takes effect within about 100 ms); what is in flight is still delivered
     * and acknowledged. The source stays open, but a pause longer than the server's replication timeout
     * ({@code wal_sender_timeout}, 60 s by default) makes it reconnect on resume. No effect unless RUNNING.
     */
    void pause();

    /** Takes changes again after {@link #pause()}. No effect unless PAUSED. */
    void resume();

    /**
     * Asks the source to re-read tables while streaming continues (see {@link SnapshotRequest}); returns at
     * once. The pipeline must be running or paused.
     *
     * @throws UnsupportedOperationException when the source cannot take snapshots
     * @throws ConfigException when the request names a table the source does not capture
     */
    void snapshot(SnapshotRequest request);

    /** Waits until the pipeline has stopped or failed; true if it did within the timeout. */
    boolean awaitTermination(Duration timeout) throws InterruptedException;

    /** Completes when the pipeline stops, exceptionally with the cause when it fails. */
    CompletionStage<Void> termination();

    PipelineStatus status();

    /** Same as {@link #stop()}. */
    @Override
    void close();

    /**
     * A new builder holding this pipeline's configuration, for a variant: change what differs and build.
     * It holds this pipeline's source and sinks themselves, which serve one pipeline at a time; a variant
     * that runs next to this one needs its own ({@link Builder#source(Source)}, {@link Builder#sinks(List)}).
     */
    Builder toBuilder();

    /**
     * Configures a pipeline. Mutable and used once: {@link #build()} checks everything, reports all
     * problems together, and copies the settings into an immutable pipeline. Setters reject null.
     */
    final class Builder {
        private String name = "pipeline";
        private @Nullable Source source;
        private final List<SinkBinding> sinks = new ArrayList<>();
        private @Nullable Envelope envelope;
        private BatchConfig batch = BatchConfig.defaults();
        private CommitPolicy commitPolicy = CommitPolicy.required();
        private int queueCapacity = 8192;
        private long queueMaxBytes = 32L << 20;
        private int maxInFlightBatches = 8;
        private Duration retryInitialBackoff = Duration.ofMillis(200);
        private Duration retryMaxBackoff = Duration.ofSeconds(5);
        private @Nullable MeterRegistry meterRegistry;
        private EventFilter filter = EventFilter.ALL;
        private Duration optionalSinkPatience = Duration.ofSeconds(5);

        Builder() {
        }

        private Builder copy() {
            Builder b = new Builder();
            b.name = name;
            b.source = source;
            b.sinks.addAll(sinks);
            b.envelope = envelope;
            b.batch = batch;
            b.commitPolicy = commitPolicy;
            b.queueCapacity = queueCapacity;
            b.queueMaxBytes = queueMaxBytes;
            b.maxInFlightBatches = maxInFlightBatches;
            b.retryInitialBackoff = retryInitialBackoff;
            b.retryMaxBackoff = retryMaxBackoff;
            b.meterRegistry = meterRegistry;
            b.filter = filter;
            b.optionalSinkPatience = optionalSinkPatience;
            return b;
        }

        /** A name for logs and metrics; defaults to {@code pipeline}. */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        public Builder source(Source source) {
            this.source = Objects.requireNonNull(source, "source");
            return this;
        }

        /** Adds a required sink that uses the pipeline's envelope. */
        public Builder sink(Sink sink) {
            return sink(SinkBinding.of(Objects.requireNonNull(sink, "sink")));
        }

        /** Adds a sink with its own envelope and required flag. */
        public Builder sink(SinkBinding binding) {
            sinks.add(Objects.requireNonNull(binding, "binding"));
            return this;
        }

        /** Replaces every sink added so far with these. */
        public Builder sinks(List<SinkBinding> bindings) {
            Objects.requireNonNull(bindings, "bindings").forEach(b -> Objects.requireNonNull(b, "binding"));
            sinks.clear();
            sinks.addAll(bindings);
            return this;
        }

        /** The envelope of every sink that does not name its own. */
        public Builder envelope(Envelope envelope) {
            this.envelope = Objects.requireNonNull(envelope, "envelope");
            return this;
        }

        public Builder batch(BatchConfig batch) {
            this.batch = Objects.requireNonNull(batch, "batch");
            return this;
        }

        /** Defaults to {@link CommitPolicy#required()}. */
        public Builder commitPolicy(CommitPolicy policy) {
            this.commitPolicy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** Records buffered between the source and the batcher; defaults to 8192. */
        public Builder queueCapacity(int capacity) {
            this.queueCapacity = capacity;
            return this;
        }

        /**
         * The heap the buffered records' rows may take, estimated from their values; defaults to 32 MiB. The
         * queue stops at whichever bound it reaches first, so large rows wait for room rather than fill the
         * heap; a single row larger than this still passes.
         */
        public Builder queueMaxBytes(long bytes) {
            this.queueMaxBytes = bytes;
            return this;
        }

        /** Batches a sink may hold unconfirmed before the batcher waits; defaults to 8. */
        public Builder maxInFlightBatches(int n) {
            this.maxInFlightBatches = n;
            return this;
        }

        /**
         * Backoff between retries of a passing failure: doubles from {@code initial} to {@code max}, with
         * jitter; default 200 ms to 5 s. The maximum is also about the longest a pipeline keeps waiting after a
         * server came back (a PostgreSQL failover, a NATS restart), so it is kept short: a retry is cheap.
         */
        public Builder retryBackoff(Duration initial, Duration max) {
            this.retryInitialBackoff = Objects.requireNonNull(initial, "initial");
            this.retryMaxBackoff = Objects.requireNonNull(max, "max");
            return this;
        }

        /** Applied to every event before any sink sees it; replaces an earlier filter. */
        public Builder filter(EventFilter filter) {
            this.filter = Objects.requireNonNull(filter, "filter");
            return this;
        }

        /**
         * How long an optional sink whose in-flight window is full may hold up the others before a batch is
         * skipped for it (logged and counted as failed); only under a commit policy that does without
         * optional sinks. Defaults to 5 seconds.
         */
        public Builder optionalSinkPatience(Duration patience) {
            this.optionalSinkPatience = Objects.requireNonNull(patience, "patience");
            return this;
        }

        /** Where metrics go; by default they are kept in a registry private to the pipeline. */
        public Builder meterRegistry(MeterRegistry registry) {
            this.meterRegistry = Objects.requireNonNull(registry, "registry");
            return this;
        }

        /**
         * @throws ConfigException listing every problem: no source, no sink, a sink without envelope,
         *         duplicate sink ids, out-of-range numbers
         */
        public Pipeline build() {
            List<ConfigException.Problem> problems = new ArrayList<>();
            if (source == null) {
                problems.add(new ConfigException.Problem("source", "is required; call source(...)"));
            }
            if (sinks.isEmpty()) {
                problems.add(new ConfigException.Problem("sinks", "at least one sink is required; call sink(...)"));
            }
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < sinks.size(); i++) {
                SinkBinding b = sinks.get(i);
                String id = b.sink().id();
                if (ids.contains(id)) {
                    problems.add(new ConfigException.Problem("sinks[" + i + "]",
                            "sink id '" + id + "' is used twice; give each sink its own id"));
                }
                ids.add(id);
                if (b.envelope() == null && envelope == null) {
                    problems.add(new ConfigException.Problem("sinks[" + i + "]",
                            "sink '" + id + "' has no envelope; set envelope(...) on the pipeline or the sink"));
                }
            }
            if (queueCapacity < 1) {
                problems.add(new ConfigException.Problem("queueCapacity", "must be at least 1, was " + queueCapacity));
            }
            if (queueMaxBytes < 1) {
                problems.add(new ConfigException.Problem("queueMaxBytes", "must be at least 1, was " + queueMaxBytes));
            }
            if (maxInFlightBatches < 1) {
                problems.add(new ConfigException.Problem("maxInFlightBatches",
                        "must be at least 1, was " + maxInFlightBatches));
            }
            if (retryInitialBackoff.isNegative() || retryInitialBackoff.isZero()
                    || retryMaxBackoff.compareTo(retryInitialBackoff) < 0) {
                problems.add(new ConfigException.Problem("retryBackoff",
                        "needs 0 < initial <= max, was " + retryInitialBackoff + " and " + retryMaxBackoff));
            }
            if (optionalSinkPatience.isNegative()) {
                problems.add(new ConfigException.Problem("optionalSinkPatience",
                        "must not be negative, was " + optionalSinkPatience));
            }
            if (!problems.isEmpty()) {
                throw new ConfigException(problems);
            }
            List<SinkBinding> bound = new ArrayList<>();
            for (SinkBinding b : sinks) {
                bound.add(b.envelope() == null ? b.withEnvelope(envelope) : b);
            }
            Builder configuration = copy();
            return new Engine(new Engine.Settings(name, Objects.requireNonNull(source), List.copyOf(bound), batch,
                    commitPolicy, queueCapacity, queueMaxBytes, maxInFlightBatches, retryInitialBackoff, retryMaxBackoff,
                    meterRegistry, filter, optionalSinkPatience), configuration::copy);
        }
    }
}
