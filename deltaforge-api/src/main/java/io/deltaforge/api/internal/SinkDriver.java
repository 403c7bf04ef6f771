package io.deltaforge.api.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.SinkBinding;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.SinkOutcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds one sink from its own thread, so that {@code Sink.send} is called once at a time, in log order.
 * At most {@code maxUnconfirmed} batches are held between submission and settling (confirmed,
 * together with every batch before it); the batcher waits beyond that, which is how a slow sink slows the
 * source down.
 *
 * <p>Order after a failure is decided here, not by the sink: a batch that fails with a
 * {@link RetryableException} is sent again after a backoff, followed by every later batch already sent to
 * this sink (succeeded, failed or still pending) in the same order, before any batch not sent yet. Answers
 * to the sends a replay supersedes are ignored. The sink de-duplicates what had already arrived. Any other
 * failure is permanent: for a required sink it fails the pipeline, for an optional one it is logged,
 * counted and the batch is skipped.
 *
 * <p>Before its first send and before each replay, the driver asks the sink which of the source's events
 * from the batch's transaction on it holds already ({@code Sink.storedSince}) and leaves exactly those out:
 * the sink proves them stored, so a restart or a sink outage longer than the sink's own de-duplication
 * (JetStream's duplicate window) stores nothing twice. A sink that cannot say gets everything again.
 *
 * <p>A small batch that finds the driver idle (nothing waiting, nothing being sent, no replay or question
 * pending) is sent by the submitting batcher itself, when the pipeline has this one sink and no patience
 * applies: handing it to the driver's thread would cost a wake-up of that thread, which at a few events per
 * batch is a large part of the work. Sends still happen one at a time and in order: whoever sends holds the
 * send turn ({@link #sending}). Bigger batches go to the driver's thread, so encoding the next overlaps sending.
 */
final class SinkDriver implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(SinkDriver.class);
    /** The most messages a batch may hold to be sent by its submitter rather than by the driver's thread. */
    static final int SUBMITTER_SENDS_UP_TO = 32;

    private final int index;
    private final SinkBinding binding;
    private final CommitCoordinator coordinator;
    private final Backoff backoff;
    private final Consumer<Throwable> failPipeline;
    private final EngineMetrics.SinkMeters meters;
    private final int maxUnconfirmed;
    private final Semaphore unconfirmed;
    /**
     * Guards {@link #outstanding}, {@link #sentCount}, {@link #retryNotBefore}, {@link #consecutiveFailures},
     * {@link #askStored}, {@link #failedForGood} and {@link #sending}.
     */
    private final Object lock = new Object();
    /**
     * Every submitted batch not yet settled, in log order. The first {@link #sentCount} were sent in the
     * current round (each succeeded or is pending); the rest wait for their send. A replay moves the
     * failed batch and all after it back to waiting, so those that wait are always a suffix.
     */
    private final List<Work> outstanding = new ArrayList<>();
    private int sentCount;
    private int consecutiveFailures;
    /** A required sink failed for good: the pipeline fails, and nothing more is sent to the sink. */
    private boolean failedForGood;
    private long retryNotBefore = System.nanoTime();
    private volatile boolean closing;
    private volatile boolean started;
    /** Non-null for an optional sink under a policy that ignores it: how long a full window may hold the batcher. */
    private final @Nullable Duration patience;
    private long skipped;
    /** Set once the patience ran out; until the window has room again, batches are skipped without waiting. */
    private boolean behind;
    /** Set at start and by every replay: the next send first asks the sink what it holds. Guarded by {@link #lock}. */
    private boolean askStored = true;
    /**
     * A thread (the driver's, or the batcher sending a small batch itself) has taken the next batch to send and
     * has not yet handed it to the sink: nobody else may send meanwhile. Guarded by {@link #lock}.
     */
    private boolean sending;
    /** Whether the batcher may send small batches itself (see the class comment). */
    private final boolean submitterMaySend;
    /** Used only by the thread that holds the send turn ({@link #sending}). */
    private final HeldBySink held = new HeldBySink();

    /**
     * @param onlySink whether this is the pipeline's only sink: then the batcher may send small batches itself,
     *                 as it holds up no other sink meanwhile
     */
    SinkDriver(int index, SinkBinding binding, CommitCoordinator coordinator, int maxUnconfirmed, Backoff backoff,
               Consumer<Throwable> failPipeline, EngineMetrics metrics, @Nullable Duration patience, boolean onlySink) {
        this.patience = patience;
        this.submitterMaySend = onlySink && patience == null;
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
     * Hands over a batch; blocks while the sink holds too many unsettled batches. An optional sink under a
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
        Work work = new Work(entry, batch, System.nanoTime());
        boolean sendHere;
        int attempt;
        synchronized (lock) {
            sendHere = submitterMaySend && batch.messages().size() <= SUBMITTER_SENDS_UP_TO && started && !sending
                    && !askStored && !failedForGood && sentCount == outstanding.size();
            outstanding.add(work);
            attempt = work.attempt;
            if (sendHere) {
                sentCount++;
                sending = true;
            } else {
                lock.notifyAll();
            }
        }
        if (sendHere) {
            sendTaken(work, attempt, false);
        }
    }

    /** No more batches will come; the thread ends once the last one is settled. */
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
                Work work;
                int attempt;
                boolean ask;
                synchronized (lock) {
                    work = nextToSend();
                    if (work == null) {
                        if (closing && (outstanding.isEmpty() || failedForGood)) {
                            return;
                        }
                        continue;
                    }
                    attempt = work.attempt;
                    sentCount++;
                    ask = askStored;
                    askStored = false;
                    sending = true;
                }
                sendTaken(work, attempt, ask);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Sends a batch taken with the send turn, first asking the sink what it holds when {@code ask}, and gives the
     * turn back; the driver's thread is woken when batches wait for it meanwhile (a replay).
     */
    private void sendTaken(Work work, int attempt, boolean ask) {
        try {
            if (ask && !askStored(work, attempt)) {
                return;
            }
            Batch unsent = held.without(work.batch);
            if (unsent.isEmpty()) {
                onComplete(work, attempt, null);
            } else {
                send(work, unsent, attempt);
            }
        } finally {
            synchronized (lock) {
                sending = false;
                if (sentCount < outstanding.size()) {
                    lock.notifyAll();
                }
            }
        }
    }

    /**
     * The first batch waiting for its send, unless another thread is sending or a replay's backoff is still
     * running; else waits a little and returns null. Holds {@link #lock}.
     */
    private @Nullable Work nextToSend() throws InterruptedException {
        if (sentCount == outstanding.size() || failedForGood || sending) {
            lock.wait(50);
            return null;
        }
        long wait = retryNotBefore - System.nanoTime();
        if (wait > 0) {
            lock.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(wait), 50)));
            return null;
        }
        return outstanding.get(sentCount);
    }

    /**
     * Asks the sink which events from this batch's transaction on it holds. Returns false when the sink
     * cannot say yet (a {@link RetryableException}: it is down): the batch is then retried like a failed
     * send, asking again. Any other failure means it cannot say at all: everything is sent.
     */
    private boolean askStored(Work work, int attempt) {
        try {
            held.ask(binding.sink(), sinkId(), work.batch);
            return true;
        } catch (RetryableException e) {
            onComplete(work, attempt, e);
            return false;
        } catch (RuntimeException e) {
            log.warn("sink '{}' ({}) cannot say which of the events it is sent again it holds already, so all of"
                    + " them are sent: {}", sinkId(), binding.sink().getClass().getName(), e.toString());
            return true;
        }
    }

    private void send(Work work, Batch batch, int attempt) {
        CompletionStage<Void> stage;
        try {
            stage = binding.sink().send(batch);
        } catch (RuntimeException e) {
            // Sinks must report failures through the stage; a throw is still handled, and named.
            stage = CompletableFuture.failedFuture(e);
        }
        stage.whenComplete((ok, error) -> onComplete(work, attempt, error));
    }

    private void onComplete(Work work, int attempt, @Nullable Throwable error) {
        Throwable cause = unwrap(error);
        synchronized (lock) {
            if (work.attempt != attempt) {
                return;
            }
            if (cause == null) {
                consecutiveFailures = 0;
                work.succeeded = true;
                report(work, SinkOutcome.State.DELIVERED);
                settle();
            } else if (cause instanceof RetryableException) {
                replayFrom(work, cause);
            } else if (binding.required()) {
                meters.failure();
                // Nothing after the failed batch may reach the sink: it would hold later events without it.
                failedForGood = true;
                failPipeline.accept(new DeltaforgeException("sink '" + sinkId() + "' failed for good on batch "
                        + work.batch.sequence() + describeFirst(work.batch) + ": " + cause.getMessage()
                        + "; the source was not acknowledged past this batch, so a restart resends it", cause));
            } else {
                meters.failure();
                log.error("optional sink '{}' dropped batch {}{}: {}", sinkId(), work.batch.sequence(),
                        describeFirst(work.batch), cause.toString());
                outstanding.remove(work);
                sentCount--;
                unconfirmed.release();
                report(work, SinkOutcome.State.FAILED);
                settle();
            }
        }
    }

    /**
     * Schedules the failed batch and every later one sent in this round for sending again, in order, after a
     * backoff; their pending answers no longer count. Holds {@link #lock}.
     */
    private void replayFrom(Work failed, Throwable cause) {
        meters.retry();
        int from = outstanding.indexOf(failed);
        for (int i = from; i < sentCount; i++) {
            Work w = outstanding.get(i);
            w.attempt++;
            w.succeeded = false;
        }
        int later = sentCount - from - 1;
        sentCount = from;
        askStored = true;
        Duration delay = backoff.delay(consecutiveFailures++);
        retryNotBefore = System.nanoTime() + delay.toNanos();
        lock.notifyAll();
        log.warn("sink '{}': batch {} failed, resending it{} in {} ms: {}", sinkId(), failed.batch.sequence(),
                later == 0 ? "" : " and the " + later + " sent after it", delay.toMillis(), cause.getMessage());
    }

    /**
     * Tells the coordinator once how the sink finished with a batch: a batch the sink stored counts as
     * delivered even if a replay sends it again. Holds {@link #lock}.
     */
    private void report(Work work, SinkOutcome.State state) {
        if (work.reported) {
            return;
        }
        work.reported = true;
        if (state == SinkOutcome.State.DELIVERED) {
            meters.confirmed(work.batch, work.submittedNanos);
        }
        coordinator.complete(work.entry, index, state);
    }

    /** Gives back the window places of the batches that succeeded with every batch before them. Holds {@link #lock}. */
    private void settle() {
        while (!outstanding.isEmpty() && outstanding.get(0).succeeded) {
            outstanding.remove(0);
            sentCount--;
            unconfirmed.release();
        }
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

    /** One batch for this sink; the mutable fields are guarded by the driver's lock. */
    private static final class Work {
        final CommitCoordinator.Entry entry;
        final Batch batch;
        final long submittedNanos;
        /** Raised by each replay that includes this batch, so answers to earlier sends are ignored. */
        int attempt;
        /** The send of the current attempt succeeded. */
        boolean succeeded;
        /** The coordinator was told how this batch ended. */
        boolean reported;

        Work(CommitCoordinator.Entry entry, Batch batch, long submittedNanos) {
            this.entry = entry;
            this.batch = batch;
            this.submittedNanos = submittedNanos;
        }
    }
}
