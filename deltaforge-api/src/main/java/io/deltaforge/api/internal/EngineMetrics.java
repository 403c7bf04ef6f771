package io.deltaforge.api.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Batch;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The meters of one pipeline, all tagged {@code pipeline=<name>}:
 * <ul>
 *   <li>{@code deltaforge.events.in} (counter; table, op) — events taken from the source;
 *   <li>{@code deltaforge.events.out} (counter; sink, table, op) — events a sink confirmed;
 *   <li>{@code deltaforge.batch.size} (summary, events) and {@code deltaforge.sink.latency} (timer; sink) —
 *       from handing a batch to a sink to its confirmation;
 *   <li>{@code deltaforge.sink.inflight} (gauge; sink) — batches handed over and not yet confirmed;
 *   <li>{@code deltaforge.lag.bytes} (gauge) — the source's newest known position minus the checkpoint;
 *   <li>{@code deltaforge.lag.seconds} (gauge) — now minus the commit time of the last delivered event,
 *       0 while nothing is waiting;
 *   <li>{@code deltaforge.errors} (counter; kind = sink_retry, sink_failure, source_retry, pipeline) and
 *       the older {@code deltaforge.sink.retries} / {@code deltaforge.sink.failures} (sink).
 * </ul>
 * Thread-safe; counters per table are made on first use and cached.
 */
final class EngineMetrics {
    private final MeterRegistry registry;
    private final Tags tags;
    private final Map<TableId, Map<Op, Counter>> in = new ConcurrentHashMap<>();
    /** The counter {@link #eventIn} used last; the batcher thread's only. */
    private @Nullable InCounter lastIn;
    private final DistributionSummary batchSize;
    private final Counter sourceRetries;
    private final Counter pipelineFailures;

    EngineMetrics(MeterRegistry registry, String pipeline) {
        this.registry = registry;
        this.tags = Tags.of("pipeline", pipeline);
        this.batchSize = DistributionSummary.builder("deltaforge.batch.size").baseUnit("events").tags(tags)
                .register(registry);
        this.sourceRetries = counter(registry, "deltaforge.errors", tags.and("kind", "source_retry"));
        this.pipelineFailures = counter(registry, "deltaforge.errors", tags.and("kind", "pipeline"));
    }

    /**
     * Through the builder rather than {@code registry.counter(String, Tags)}, an overload that Micrometer
     * before 1.16 lacks: Spring Boot 3.5 applications run Micrometer 1.15.
     */
    static Counter counter(MeterRegistry registry, String name, Tags tags) {
        return Counter.builder(name).tags(tags).register(registry);
    }

    Tags tags() {
        return tags;
    }

    /** Called by the batcher thread only. */
    void eventIn(ChangeEvent e) {
        InCounter last = lastIn;
        // Events come in runs of one table and op (a transaction's inserts, then its updates): the look-up
        // and its lock once per run, not per event.
        if (last == null || last.op() != e.op() || !last.table().equals(e.table())) {
            last = new InCounter(e.table(), e.op(), counter(in, "deltaforge.events.in", e, tags));
            lastIn = last;
        }
        last.counter().increment();
    }

    private record InCounter(TableId table, Op op, Counter counter) {
    }

    void batchOut(int events) {
        batchSize.record(events);
    }

    void sourceRetry() {
        sourceRetries.increment();
    }

    void pipelineFailed() {
        pipelineFailures.increment();
    }

    /** Lag gauges over the checkpoint, the source's newest position and whether anything is waiting. */
    void registerLag(Supplier<@Nullable Lsn> checkpoint, Supplier<@Nullable Lsn> newest,
                     Supplier<@Nullable Instant> lastDeliveredCommit, Supplier<Boolean> idle) {
        Gauge.builder("deltaforge.lag.bytes", () -> {
            Lsn c = checkpoint.get();
            Lsn n = newest.get();
            return c == null || n == null || !n.isAfter(c) ? 0 : (double) (n.value() - c.value());
        }).baseUnit("bytes").tags(tags).register(registry);
        Gauge.builder("deltaforge.lag.seconds", () -> {
            Instant last = lastDeliveredCommit.get();
            return idle.get() || last == null ? 0 : (System.currentTimeMillis() - last.toEpochMilli()) / 1000.0;
        }).baseUnit("seconds").tags(tags).register(registry);
    }

    /** The meters of one sink. */
    SinkMeters sink(String sinkId, Supplier<Number> inflight) {
        Tags sinkTags = tags.and("sink", sinkId);
        Gauge.builder("deltaforge.sink.inflight", inflight).tags(sinkTags).register(registry);
        return new SinkMeters(sinkTags,
                counter(registry, "deltaforge.sink.retries", sinkTags),
                counter(registry, "deltaforge.sink.failures", sinkTags),
                counter(registry, "deltaforge.errors", tags.and("kind", "sink_retry")),
                counter(registry, "deltaforge.errors", tags.and("kind", "sink_failure")),
                Timer.builder("deltaforge.sink.latency").tags(sinkTags).register(registry));
    }

    final class SinkMeters {
        private final Tags sinkTags;
        private final Counter retries;
        private final Counter failures;
        private final Counter retryErrors;
        private final Counter failureErrors;
        private final Timer latency;
        private final Map<TableId, Map<Op, Counter>> out = new ConcurrentHashMap<>();

        private SinkMeters(Tags sinkTags, Counter retries, Counter failures, Counter retryErrors,
                           Counter failureErrors, Timer latency) {
            this.sinkTags = sinkTags;
            this.retries = retries;
            this.failures = failures;
            this.retryErrors = retryErrors;
            this.failureErrors = failureErrors;
            this.latency = latency;
        }

        void retry() {
            retries.increment();
            retryErrors.increment();
        }

        void failure() {
            failures.increment();
            failureErrors.increment();
        }

        void confirmed(Batch batch, long sentNanos) {
            latency.record(System.nanoTime() - sentNanos, TimeUnit.NANOSECONDS);
            // Once per run of events of one table and operation, not per event: a batch under load is long
            // runs (a transaction's inserts, then its updates), and each look-up and increment showed on the
            // jnats thread that completes the batch.
            List<ChangeEvent> events = batch.events();
            int n = events.size();
            int runStart = 0;
            for (int i = 1; i <= n; i++) {
                ChangeEvent first = events.get(runStart);
                if (i == n || events.get(i).op() != first.op() || !events.get(i).table().equals(first.table())) {
                    counter(out, "deltaforge.events.out", first, sinkTags).increment(i - runStart);
                    runStart = i;
                }
            }
        }
    }

    private Counter counter(Map<TableId, Map<Op, Counter>> byTable, String name, ChangeEvent e, Tags base) {
        Map<Op, Counter> byOp = byTable.computeIfAbsent(e.table(), t -> new EnumMap<>(Op.class));
        Counter c;
        synchronized (byOp) {
            c = byOp.get(e.op());
            if (c == null) {
                c = counter(registry, name, base.and("table", e.table().toString(), "op", e.op().code()));
                byOp.put(e.op(), c);
            }
        }
        return c;
    }
}
