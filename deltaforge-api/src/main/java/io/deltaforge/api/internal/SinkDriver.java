package io.deltaforge.api.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.SinkBinding;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.SinkOutcome;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds one sink from its own thread, so that {@code Sink.send} is always called by one thread, in log
 * order. At most {@code maxUnconfirmed} batches are held between submission and confirmation; the
 * batcher waits beyond that, which is how a slow sink slows the source down.
 *
 * <p>A batch that fails with a {@link RetryableException} is sent again after a backoff, before any new
 * batch; the sink de-duplicates what had already arrived. Any other failure is permanent: for a required
 * sink it fails the pipeline, for an optional one it is logged, counted and the batch is skipped.
 */
final class SinkDriver implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(SinkDriver.class);

    private final int index;
    private final SinkBinding binding;
    private final CommitCoordinator coordinator;
    private final Backoff backoff;
    private final Consumer<Throwable> failPipeline;
    private final EngineMetrics.SinkMeters meters;
    private final int maxUnconfirmed;
    private final Semaphore unconfirmed;
    private final LinkedBlockingQueue<Work> incoming = new LinkedBlockingQueue<>();
    /** Failed batches waiting for their retry, oldest first; guarded by itself. */
    private final PriorityQueue<Work> retryQueue = new PriorityQueue<>((a, b) -> Long.compare(a.batch.sequence(), b.batch.sequence()));
    private volatile boolean closing;
    private volatile boolean started;
    private int consecutiveFailures;
    private long retryNotBefore;
    /** Non-null for an optional sink under a policy that ignores it: how long a full window may hold the batcher. */
    private final @Nullable Duration patience;
    private long skipped;
    /** Set once the patience ran out; until the window has room again, batches are skipped without waiting. */
    private boolean behind;

    SinkDriver(int index, SinkBinding binding, CommitCoordinator coordinator, int maxUnconfirmed, Backoff backoff,
               Consumer<Throwable> failPipeline, EngineMetrics metrics, @Nullable Duration patience) {
        this.patience = patience;
        this.index = index;
        this.binding = binding;
        this.coordinator = coordinator;
        this.backoff = backoff;
        this.failPipeline = failPipeline;
        this.maxUnconfirmed = maxUnconfirmed;
        this.unconfirmed = new Semaphore(maxUnconfirmed);
        this.meters = metrics.sink(binding.sink().id(), () -> maxUnconfirmed - unconfirmed.availablePermits());
    }

    String sinkId() {
        return binding.sink().id();
    }

    /**
     * Hands over a batch; blocks while the sink holds too many unconfirmed batches. An optional sink under a
     * commit policy that ignores optional sinks holds the batcher only for its patience: then this batch is
     * skipped for it, logged and counted as failed, so a sink that is down or slow cannot stall the others;
     * later batches are skipped at once until its window has room again. Called by the batcher thread only.
     */
    void submit(CommitCoordinator.Entry entry, Batch batch) throws InterruptedException {
        if (patience == null) {
            unconfirmed.acquire();
        } else if (!(behind ? unconfirmed.tryAcquire()
                : unconfirmed.tryAcquire(patience.toNanos(), TimeUnit.NANOSECONDS))) {
            behind = true;
            meters.failure();
            if (skipped++ % 100 == 0) {
                log.warn("optional sink '{}' has had {} batches unconfirmed for over {} ms; skipping batch {}{} for it"
                                + " ({} skipped so far) so that the other sinks go on", sinkId(), maxUnconfirmed,
                        patience.toMillis(), batch.sequence(), describeFirst(batch), skipped);
            }
            coordinator.complete(entry, index, SinkOutcome.State.FAILED);
            return;
        } else if (behind) {
            behind = false;
            log.info("optional sink '{}' has room again after skipping {} batches", sinkId(), skipped);
        }
        incoming.add(new Work(entry, batch, System.nanoTime()));
    }

    /** No more batches will come; the thread ends once the last one is confirmed. */
    void finish() {
        closing = true;
    }

    /**
     * Starts the sink on the caller's thread. A passing failure (server not up yet) is left for the
     * driver thread to retry; anything else is thrown.
     */
    void startSink() {
        try {
            binding.sink().start();
            started = true;
        } catch (RetryableException e) {
            log.warn("sink '{}' unavailable at start, retrying in the background: {}", sinkId(), e.getMessage());
        }
    }

    private void startWithRetry() throws InterruptedException {
        int attempt = 0;
        while (!started && !closing) {
            Duration delay = backoff.delay(attempt++);
            Thread.sleep(delay.toMillis());
            try {
                binding.sink().start();
                started = true;
                log.info("sink '{}' started", sinkId());
            } catch (RetryableException e) {
                meters.retry();
                log.warn("sink '{}' still unavailable, retrying in about {} ms: {}", sinkId(),
                        backoff.delay(attempt).toMillis(), e.getMessage());
            } catch (RuntimeException e) {
                failPipeline.accept(new DeltaforgeException("sink '" + sinkId() + "' cannot start: " + e.getMessage(), e));
                return;
            }
        }
    }

    @Override
    public void run() {
        try {
            startWithRetry();
            while (true) {
                Work work = nextWork();
                if (work == null) {
                    if (closing && idle()) {
                        return;
                    }
                    continue;
                }
                send(work);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Every submitted batch is confirmed (delivered, or skipped for an optional sink). */
    private boolean idle() {
        return unconfirmed.availablePermits() == maxUnconfirmed;
    }

    /** A due retry first, else a new batch; none while a retry waits for its backoff, to keep order. */
    private @Nullable Work nextWork() throws InterruptedException {
        synchronized (retryQueue) {
            if (!retryQueue.isEmpty()) {
                long wait = retryNotBefore - System.nanoTime();
                if (wait <= 0) {
                    return retryQueue.poll();
                }
                retryQueue.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(wait), 50)));
                return null;
            }
        }
        return incoming.poll(50, TimeUnit.MILLISECONDS);
    }

    private void send(Work work) {
        CompletionStage<Void> stage;
        try {
            stage = binding.sink().send(work.batch);
        } catch (RuntimeException e) {
            // Sinks must report failures through the stage; a throw is still handled, and named.
            stage = CompletableFuture.failedFuture(e);
        }
        stage.whenComplete((ok, error) -> onComplete(work, error));
    }

    private void onComplete(Work work, @Nullable Throwable error) {
        Throwable cause = unwrap(error);
        if (cause == null) {
            synchronized (retryQueue) {
                consecutiveFailures = 0;
            }
            meters.confirmed(work.batch, work.submittedNanos);
            confirm(work, SinkOutcome.State.DELIVERED);
        } else if (cause instanceof RetryableException) {
            meters.retry();
            synchronized (retryQueue) {
                Duration delay = backoff.delay(consecutiveFailures++);
                retryNotBefore = System.nanoTime() + delay.toNanos();
                retryQueue.add(work);
                retryQueue.notifyAll();
                log.warn("sink '{}': batch {} failed, retrying in {} ms: {}", sinkId(), work.batch.sequence(),
                        delay.toMillis(), cause.getMessage());
            }
        } else if (binding.required()) {
            meters.failure();
            failPipeline.accept(new DeltaforgeException("sink '" + sinkId() + "' failed for good on batch "
                    + work.batch.sequence() + describeFirst(work.batch) + ": " + cause.getMessage()
                    + "; the source was not acknowledged past this batch, so a restart resends it", cause));
        } else {
            meters.failure();
            log.error("optional sink '{}' dropped batch {}{}: {}", sinkId(), work.batch.sequence(),
                    describeFirst(work.batch), cause.toString());
            confirm(work, SinkOutcome.State.FAILED);
        }
    }

    private void confirm(Work work, SinkOutcome.State state) {
        coordinator.complete(work.entry, index, state);
        unconfirmed.release();
    }

    /**
     * Names what the failed batch holds, so the operator can find the change: one event by table, LSN and
     * id; several by their tables and commit LSN range, and the first id.
     */
    static String describeFirst(Batch batch) {
        List<ChangeEvent> events = batch.events();
        if (events.isEmpty()) {
            return "";
        }
        ChangeEvent first = events.get(0);
        if (events.size() == 1) {
            return " (the " + first.op().code() + " event of " + first.table() + " at LSN " + first.position().lsn()
                    + ", commit LSN " + first.position().commitLsn() + ", id " + first.id() + ")";
        }
        ChangeEvent last = events.get(events.size() - 1);
        Set<String> tables = new TreeSet<>();
        events.forEach(e -> tables.add(e.table().toString()));
        String commits = first.position().commitLsn().equals(last.position().commitLsn())
                ? "commit LSN " + first.position().commitLsn()
                : "commit LSNs " + first.position().commitLsn() + " to " + last.position().commitLsn();
        return " (" + events.size() + " events of " + String.join(", ", tables) + ", from LSN "
                + first.position().lsn() + " to " + last.position().lsn() + ", " + commits + ", first id "
                + first.id() + ")";
    }

    private static @Nullable Throwable unwrap(@Nullable Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private record Work(CommitCoordinator.Entry entry, Batch batch, long submittedNanos) {
    }
}
