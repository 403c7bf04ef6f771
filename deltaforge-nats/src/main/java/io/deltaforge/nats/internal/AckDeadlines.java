package io.deltaforge.nats.internal;

import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The deadlines of the batches waiting for their PubAcks, checked by one sweep every {@link #SWEEP} on a
 * thread of the publisher's own, instead of timers per batch. With single-row transactions every batch is
 * one event, and two timers per batch ({@code orTimeout} plus the ack check on the JDK's shared delay
 * scheduler) cost that scheduler thread about 26 CPU-µs per event in the runner benchmark's W2, on cores
 * the pipeline needs. A deadline fires up to one sweep late, which is nothing next to seconds of timeout.
 *
 * <p>An entry lets go of what its action holds at the first sweep after its batch completed, so a finished
 * batch stays reachable for at most one sweep. Each sweep also runs a task of the owner's (the deadlines of
 * single publishes, which {@link PubAckInbox} keeps). Thread-safe.
 */
final class AckDeadlines implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AckDeadlines.class);
    static final Duration SWEEP = Duration.ofMillis(100);

    private record Entry(CompletableFuture<?> done, long deadlineNanos, Runnable onDeadline) {
    }

    private final ConcurrentLinkedQueue<Entry> waiting = new ConcurrentLinkedQueue<>();
    private final ScheduledExecutorService sweeper;
    private final String threadName;

    /** @param everySweep run on the sweeper thread at every sweep, before the batches' deadlines */
    AckDeadlines(String threadName, Runnable everySweep) {
        this.threadName = threadName;
        this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
        sweeper.scheduleWithFixedDelay(() -> {
            guarded(everySweep);
            sweep();
        }, SWEEP.toNanos(), SWEEP.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Runs {@code onDeadline} once, on the sweeper, if {@code done} has not completed by {@code deadlineNanos}. */
    void add(CompletableFuture<?> done, long deadlineNanos, Runnable onDeadline) {
        waiting.add(new Entry(done, deadlineNanos, onDeadline));
    }

    /** Entries not yet swept away, for tests. */
    int size() {
        return waiting.size();
    }

    void sweep() {
        long now = System.nanoTime();
        for (Iterator<Entry> it = waiting.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (e.done().isDone()) {
                it.remove();
            } else if (now - e.deadlineNanos() >= 0 && waiting.remove(e)) {
                // remove() tells the one sweep that runs the action, should two ever overlap.
                guarded(e.onDeadline());
            }
        }
    }

    /** A task that throws would end the schedule, and with it every later deadline: logged, and the sweep goes on. */
    private void guarded(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            log.error("{}: a deadline check failed", threadName, e);
        }
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
        waiting.clear();
    }
}
