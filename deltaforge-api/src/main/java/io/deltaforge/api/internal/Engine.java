package io.deltaforge.api.internal;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.EventFilter;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.api.PipelineStatus;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.SinkBinding;
import io.deltaforge.api.SnapshotRequest;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.CommitPolicy;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.Source;
import io.deltaforge.spi.SourceRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pipeline implementation. Threads: a reader (the only one touching the source, except for
 * {@code acknowledge}), a batcher that encodes and closes batches, and one driver per sink. They share a
 * bounded record queue, the sinks' bounded windows and the {@link CommitCoordinator}.
 */
public final class Engine implements Pipeline {
    private static final Logger log = LoggerFactory.getLogger(Engine.class);
    private static final Duration DEFAULT_DRAIN = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(100);
    /** The most records the batcher takes from the queue in one go; they count against no bound but this one. */
    private static final int TAKE_AT_ONCE = 256;
    /** Put on the queue by the reader when it stops, so the batcher knows nothing more will come. */
    private static final SourceRecord END = new SourceRecord() {
    };
    /**
     * Put on the queue by the reader after it restarted the source: what follows is a replay from the
     * acknowledged position, which the batcher must not mix with the half-read transaction before it.
     */
    private static final SourceRecord RESTARTED = new SourceRecord() {
    };

    /**
     * Everything the builder checked, ready to run.
     *
     * @param optionalSinkPatience how long an optional sink may hold up the batcher with a full window
     *                             before a batch is skipped for it, when the commit policy ignores
     *                             optional sinks
     */
    public record Settings(String name, Source source, List<SinkBinding> sinks, BatchConfig batch,
                           CommitPolicy commitPolicy, int queueCapacity, long queueMaxBytes, int maxInFlightBatches,
                           Duration retryInitialBackoff, Duration retryMaxBackoff,
                           @Nullable MeterRegistry meterRegistry, EventFilter filter, Duration optionalSinkPatience) {
        public Settings {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(source, "source");
            sinks = List.copyOf(sinks);
            for (SinkBinding s : sinks) {
                Objects.requireNonNull(s.envelope(), "every sink binding needs an envelope");
            }
            Objects.requireNonNull(optionalSinkPatience, "optionalSinkPatience");
        }
    }

    private final Settings settings;
    private final Supplier<Pipeline.Builder> configuration;
    private final Source source;
    private final RecordQueue queue;
    private final CommitCoordinator coordinator;
    private final List<SinkDriver> drivers = new ArrayList<>();
    private final Backoff backoff;
    private final CompletableFuture<Void> termination = new CompletableFuture<>();
    private final AtomicReference<PipelineState> state = new AtomicReference<>(PipelineState.NEW);
    private final AtomicReference<@Nullable Throwable> failure = new AtomicReference<>();
    private final AtomicLong received = new AtomicLong();
    private final CountDownLatch firstSourceAttempt = new CountDownLatch(1);
    /** Released when the reader may close the source: everything deliverable has been acknowledged. */
    private final CountDownLatch sourceMayClose = new CountDownLatch(1);
    private final Object stopLock = new Object();
    private final Counter batches;
    private final EngineMetrics metrics;
    private volatile boolean stopReading;
    private volatile @Nullable Throwable firstAttemptError;
    private @Nullable Thread reader;
    private @Nullable Thread batcher;
    private final List<Thread> driverThreads = new ArrayList<>();

    /**
     * @param configuration makes a builder holding the configuration these settings came from, for
     *                      {@link #toBuilder()}
     */
    public Engine(Settings settings, Supplier<Pipeline.Builder> configuration) {
        this.settings = settings;
        this.configuration = configuration;
        this.source = settings.source();
        this.queue = new RecordQueue(settings.queueCapacity(), settings.queueMaxBytes());
        this.backoff = new Backoff(settings.retryInitialBackoff(), settings.retryMaxBackoff());
        MeterRegistry registry = settings.meterRegistry() != null ? settings.meterRegistry() : new SimpleMeterRegistry();
        this.metrics = new EngineMetrics(registry, settings.name());
        Tags tags = metrics.tags();
        this.coordinator = new CommitCoordinator(settings.commitPolicy(), settings.sinks(), source::acknowledge,
                this::fail);
        for (int i = 0; i < settings.sinks().size(); i++) {
            SinkBinding b = settings.sinks().get(i);
            @Nullable Duration patience = !b.required() && coordinator.ignoresOptionalSinks()
                    ? settings.optionalSinkPatience() : null;
            drivers.add(new SinkDriver(i, b, coordinator, settings.maxInFlightBatches(), backoff, this::fail,
                    metrics, patience, settings.sinks().size() == 1));
        }
        this.batches = EngineMetrics.counter(registry, "deltaforge.batches", tags);
        source.bindMetrics(registry, tags);
        metrics.registerLag(coordinator::checkpoint, source::newestPosition, coordinator::lastDeliveredCommitTime,
                coordinator::isIdle);
        Gauge.builder("deltaforge.events.received", received, AtomicLong::get).tags(tags).register(registry);
        Gauge.builder("deltaforge.events.delivered", coordinator, CommitCoordinator::delivered).tags(tags).register(registry);
        Gauge.builder("deltaforge.queue.depth", queue, RecordQueue::size).tags(tags).register(registry);
        Gauge.builder("deltaforge.checkpoint.lsn", coordinator, c -> {
            Lsn checkpoint = c.checkpoint();
            return checkpoint == null ? 0 : checkpoint.value();
        }).tags(tags).register(registry);
    }

    @Override
    public String name() {
        return settings.name();
    }

    @Override
    public void start() {
        if (!state.compareAndSet(PipelineState.NEW, PipelineState.STARTING)) {
            throw new IllegalStateException("pipeline '" + name() + "' was already started");
        }
        log.info("pipeline '{}' starting: {} sink(s)", name(), drivers.size());
        try {
            drivers.forEach(SinkDriver::startSink);
        } catch (RuntimeException e) {
            settings.sinks().forEach(b -> closeQuietly(b.sink()));
            closeQuietly(source);
            markFailed(e);
            throw e;
        }
        for (SinkDriver d : drivers) {
            Thread t = newThread("sink-" + d.sinkId(), d);
            driverThreads.add(t);
            t.start();
        }
        batcher = newThread("batcher", this::runBatcher);
        batcher.start();
        reader = newThread("reader", this::runReader);
        reader.start();
        try {
            firstSourceAttempt.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Throwable error = firstAttemptError;
        if (error != null && !(error instanceof RetryableException)) {
            awaitQuietly();
            throw error instanceof RuntimeException re ? re : new DeltaforgeException(error.getMessage(), error);
        }
    }

    @Override
    public void stop() {
        stop(DEFAULT_DRAIN);
    }

    @Override
    public boolean stop(Duration drainTimeout) {
        Objects.requireNonNull(drainTimeout, "drainTimeout");
        synchronized (stopLock) {
            PipelineState s = state.get();
            if (s == PipelineState.NEW) {
                state.set(PipelineState.STOPPED);
                closeQuietly(source);
                termination.complete(null);
                return true;
            }
            if (s == PipelineState.STOPPED || s == PipelineState.FAILED || s == PipelineState.STOPPING) {
                awaitQuietly();
                return coordinator.isIdle();
            }
            state.set(PipelineState.STOPPING);
        }
        log.info("pipeline '{}' stopping: draining in-flight batches (up to {} s)", name(), drainTimeout.toSeconds());
        stopReading = true;
        boolean drained = false;
        try {
            // The reader ends its loop within one poll and hands the batcher an end marker; the batcher
            // then closes its last batch of complete transactions.
            join(batcher, drainTimeout);
            drained = coordinator.awaitIdle(drainTimeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!drained) {
            log.warn("pipeline '{}': not every batch was confirmed in time; the rest is resent after a restart", name());
        }
        drivers.forEach(SinkDriver::finish);
        driverThreads.forEach(Thread::interrupt);
        sourceMayClose.countDown();
        try {
            join(reader, Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        settings.sinks().forEach(b -> closeQuietly(b.sink()));
        if (state.compareAndSet(PipelineState.STOPPING, PipelineState.STOPPED)) {
            log.info("pipeline '{}' stopped at checkpoint {}", name(), coordinator.checkpoint());
            termination.complete(null);
        }
        return drained;
    }

    @Override
    public void pause() {
        if (state.compareAndSet(PipelineState.RUNNING, PipelineState.PAUSED)) {
            log.info("pipeline '{}' paused: in-flight batches complete, nothing new is read", name());
        }
    }

    @Override
    public void resume() {
        if (state.compareAndSet(PipelineState.PAUSED, PipelineState.RUNNING)) {
            log.info("pipeline '{}' resumed", name());
        }
    }

    @Override
    public void snapshot(SnapshotRequest request) {
        PipelineState now = state.get();
        if (now != PipelineState.RUNNING && now != PipelineState.PAUSED) {
            throw new IllegalStateException("pipeline '" + name() + "' is " + now + "; a snapshot needs it running");
        }
        source.requestSnapshot(request);
        log.info("pipeline '{}': snapshot of {} requested{}", name(), request.tables(),
                request.condition() == null ? "" : " where " + request.condition());
    }

    @Override
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        try {
            termination.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        } catch (java.util.concurrent.ExecutionException e) {
            return true;
        }
        return true;
    }

    @Override
    public CompletionStage<Void> termination() {
        return termination.minimalCompletionStage();
    }

    @Override
    public PipelineStatus status() {
        PipelineState now = state.get();
        return new PipelineStatus(name(), now, coordinator.checkpoint(), received.get(),
                coordinator.delivered(), failure.get(), now == PipelineState.RUNNING ? degraded() : null);
    }

    private @Nullable String degraded() {
        try {
            return source.degraded();
        } catch (RuntimeException e) {
            return "source '" + source.id() + "' (" + source.getClass().getName()
                    + ") broke the degraded() contract: " + e;
        }
    }

    @Override
    public void close() {
        stop();
    }

    @Override
    public Pipeline.Builder toBuilder() {
        return configuration.get();
    }

    // ---- reader -------------------------------------------------------------------------------------

    private void runReader() {
        try {
            readUntilStopped();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            if (firstSourceAttempt.getCount() > 0) {
                firstAttemptError = t;
            }
            fail(t);
        } finally {
            firstSourceAttempt.countDown();
            if (state.get() != PipelineState.FAILED) {
                offerEnd();
                try {
                    sourceMayClose.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            // Closing sends the last acknowledged position, so wait until the batches are confirmed.
            closeQuietly(source);
        }
    }

    private void readUntilStopped() throws InterruptedException {
        int attempt = 0;
        boolean streamedBefore = false;
        while (!stopReading) {
            try {
                source.start();
                state.compareAndSet(PipelineState.STARTING, PipelineState.RUNNING);
                firstSourceAttempt.countDown();
                if (streamedBefore && !enqueue(RESTARTED)) {
                    return;
                }
                streamedBefore = true;
                log.info("pipeline '{}': source '{}' streaming", name(), source.id());
                attempt = 0;
                pollUntilStopped();
                return;
            } catch (RetryableException e) {
                if (firstSourceAttempt.getCount() > 0) {
                    firstAttemptError = e;
                    firstSourceAttempt.countDown();
                }
                metrics.sourceRetry();
                closeQuietly(source);
                Duration delay = backoff.delay(attempt++);
                log.warn("pipeline '{}': source '{}' unavailable, retrying in {} ms: {}", name(), source.id(),
                        delay.toMillis(), e.getMessage());
                sleepUnlessStopped(delay);
            }
        }
    }

    private void pollUntilStopped() throws InterruptedException {
        while (!stopReading) {
            if (state.get() == PipelineState.PAUSED) {
                Thread.sleep(POLL.toMillis());
                continue;
            }
            SourceRecord record = source.poll(POLL);
            if (record != null && !enqueue(record)) {
                return;
            }
        }
    }

    /** Waits for room in the queue; false when stopping first (the record is not acknowledged, so it comes back). */
    private boolean enqueue(SourceRecord record) throws InterruptedException {
        while (!queue.offer(record, POLL.toMillis(), TimeUnit.MILLISECONDS)) {
            if (stopReading) {
                return false;
            }
        }
        return true;
    }

    private void offerEnd() {
        try {
            while (!queue.offer(END, POLL.toMillis(), TimeUnit.MILLISECONDS)) {
                if (batcher == null || !batcher.isAlive()) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- batcher ------------------------------------------------------------------------------------

    private void runBatcher() {
        List<Envelope> envelopes = new ArrayList<>();
        List<EventFilter> filters = new ArrayList<>();
        for (SinkBinding b : settings.sinks()) {
            envelopes.add(Objects.requireNonNull(b.envelope()));
            filters.add(b.filter());
        }
        AtomicLong sequence = new AtomicLong();
        boolean wholeParts = settings.sinks().stream().anyMatch(b -> b.sink().storesTransactionParts());
        Batcher batcher = new Batcher(settings.batch(), settings.filter(), envelopes, filters,
                (count, events, messages, markers, checkpoint, continues) -> dispatch(sequence.incrementAndGet(),
                        count, events, messages, markers, checkpoint, continues), wholeParts, source.id());
        long maxWaitNanos = settings.batch().maxWait().toNanos();
        // Records are taken from the queue a run at a time: its lock once per run rather than twice per record
        // (take, then ask whether it is empty).
        ArrayDeque<SourceRecord> taken = new ArrayDeque<>(TAKE_AT_ONCE);
        try {
            while (true) {
                SourceRecord record = taken.pollFirst();
                if (record == null) {
                    long timeoutNanos = POLL.toNanos();
                    if (!batcher.isEmpty() && !batcher.insideTransaction()) {
                        timeoutNanos = Math.max(0, batcher.firstEventNanos() + maxWaitNanos - System.nanoTime());
                    }
                    record = queue.poll(timeoutNanos, taken, TAKE_AT_ONCE);
                }
                if (record == END) {
                    batcher.flushCommitted();
                    return;
                }
                if (record == RESTARTED) {
                    batcher.sourceRestarted();
                    log.info("pipeline '{}': source restarted; its replay of transactions already taken is skipped",
                            name());
                } else if (record != null) {
                    if (record instanceof ChangeEvent event) {
                        received.incrementAndGet();
                        metrics.eventIn(event);
                    }
                    batcher.add(record);
                }
                // A quiet source or an old batch: send what is complete rather than wait for more.
                if ((taken.isEmpty() && queue.isEmpty()) || (!batcher.isEmpty()
                        && System.nanoTime() - batcher.firstEventNanos() >= maxWaitNanos)) {
                    batcher.flushIdle();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            fail(t);
        }
    }

    private void dispatch(long sequence, int eventCount, List<List<ChangeEvent>> events,
                          List<List<Message>> messages, List<List<Batch.Marker>> markers, @Nullable Lsn checkpoint,
                          boolean transactionContinues) throws InterruptedException {
        boolean[] nothingFor = new boolean[drivers.size()];
        for (int s = 0; s < nothingFor.length; s++) {
            nothingFor[s] = events.get(s).isEmpty() && markers.get(s).isEmpty();
        }
        CommitCoordinator.Entry entry = coordinator.register(sequence, eventCount, checkpoint, nothingFor,
                lastCommitTime(events));
        if (eventCount > 0) {
            batches.increment();
            metrics.batchOut(eventCount);
        }
        for (int s = 0; s < drivers.size(); s++) {
            if (!nothingFor[s]) {
                drivers.get(s).submit(entry, new Batch(sequence, events.get(s), messages.get(s), transactionContinues,
                        markers.get(s)));
            }
        }
    }

    private static java.time.@Nullable Instant lastCommitTime(List<List<ChangeEvent>> events) {
        for (List<ChangeEvent> perSink : events) {
            if (!perSink.isEmpty()) {
                return perSink.get(perSink.size() - 1).position().commitTime();
            }
        }
        return null;
    }

    // ---- commit and failure -------------------------------------------------------------------------

    private void fail(Throwable cause) {
        if (!markFailed(cause)) {
            return;
        }
        metrics.pipelineFailed();
        log.error("pipeline '{}' failed: {}", name(), cause.getMessage());
        log.debug("pipeline '{}' failure detail", name(), cause);
        stopReading = true;
        // Clean up off the caller's thread: it may be a sink callback or one of the threads we stop.
        newThread("shutdown", () -> {
            interrupt(batcher);
            driverThreads.forEach(Thread::interrupt);
            drivers.forEach(SinkDriver::finish);
            sourceMayClose.countDown();
            try {
                join(reader, Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            settings.sinks().forEach(b -> closeQuietly(b.sink()));
            termination.completeExceptionally(cause);
        }).start();
    }

    private boolean markFailed(Throwable cause) {
        while (true) {
            PipelineState s = state.get();
            if (s == PipelineState.FAILED || s == PipelineState.STOPPED) {
                return false;
            }
            if (state.compareAndSet(s, PipelineState.FAILED)) {
                failure.set(cause);
                if (reader == null) {
                    termination.completeExceptionally(cause);
                }
                return true;
            }
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private Thread newThread(String role, Runnable body) {
        Thread t = new Thread(body, "deltaforge-" + name() + "-" + role);
        t.setDaemon(false);
        return t;
    }

    private void sleepUnlessStopped(Duration delay) throws InterruptedException {
        long deadline = System.nanoTime() + delay.toNanos();
        while (!stopReading && System.nanoTime() < deadline) {
            Thread.sleep(Math.min(50, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)));
        }
    }

    private void awaitQuietly() {
        try {
            termination.toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception ignored) {
            // The cause is reported through status() and termination().
        }
    }

    private static void join(@Nullable Thread t, Duration timeout) throws InterruptedException {
        if (t != null && t != Thread.currentThread()) {
            t.join(Math.max(1, timeout.toMillis()));
        }
    }

    private static void interrupt(@Nullable Thread t) {
        if (t != null && t != Thread.currentThread()) {
            t.interrupt();
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            LoggerFactory.getLogger(Engine.class).warn("closing {} failed: {}", c.getClass().getSimpleName(), e.toString());
        }
    }
}
