package io.deltaforge.nats.internal;

import io.deltaforge.api.RetryableException;
import io.deltaforge.spi.Batch;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The bounded window of unacknowledged publishes (messages and bytes) that both publish paths share, and the
 * bookkeeping of one batch's publishes ({@link Sending}) until the last is acknowledged.
 *
 * <p>Threads: places are taken and messages sent on the sending thread (the engine sends one batch at a
 * time); answers release places on whichever thread answers a publish (a reply on the inbox's jnats
 * dispatcher, a deadline on the publisher's sweeper, a closed connection on jnats' listener thread, a refused
 * publish on the sending thread) and only touch atomics and futures.
 */
final class InFlightWindow {
    private static final int PUBLISHES_PER_CLOCK_READ = 64;
    private final NatsSinkSettings settings;
    private final String name;
    private final PublishFailure fail;
    private final Semaphore window;
    private final ByteWindow bytesWindow;
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();

    InFlightWindow(NatsSinkSettings settings, String name, PublishFailure fail) {
        this.settings = settings;
        this.name = name;
        this.fail = fail;
        this.window = new Semaphore(settings.maxInFlight());
        this.bytesWindow = new ByteWindow(settings.maxInFlightBytes());
    }

    long published() {
        return published.get();
    }

    long duplicates() {
        return duplicates.get();
    }

    long bytesInFlight() {
        return bytesWindow.inFlight();
    }

    long byteCapacity() {
        return bytesWindow.capacity();
    }

    /**
     * Waits until every publish was answered (all places given back), at most {@code timeout}; for a graceful
     * close, after the last send. False when some stayed unanswered.
     */
    boolean awaitIdle(Duration timeout) throws InterruptedException {
        int all = settings.maxInFlight();
        if (window.tryAcquire(all, timeout.toNanos(), TimeUnit.NANOSECONDS)) {
            window.release(all);
            return true;
        }
        return false;
    }

    /**
     * Starts sending one batch: its places in the window are waited for until the batch timeout from now.
     *
     * @param deadlines where the batch's PubAck deadline is swept; null before the first start
     */
    Sending sending(Batch batch, CompletableFuture<Void> acks, @Nullable AckDeadlines deadlines) {
        return new Sending(batch, acks, deadlines);
    }

    /** The publishes of one batch, on their way; {@link #acks()} completes when the last is acknowledged. */
    final class Sending {
        private final Batch batch;
        private final CompletableFuture<Void> acks;
        private final @Nullable AckDeadlines deadlines;
        private final long deadline;
        /** One extra count for the loop itself, so the batch cannot complete before every message was sent. */
        private final AtomicInteger pending = new AtomicInteger(1);
        /** Kept to name the oldest unacknowledged message if the batch's ack timer fires. */
        private final PendingPublish[] inFlight;
        private final String[] subjects;
        private final int[] sizes;
        private int count;
        /** Sending thread only: {@link #publishClock}'s reading and how many publishes may still use it. */
        private long clock;
        private int clockUses;

        private Sending(Batch batch, CompletableFuture<Void> acks, @Nullable AckDeadlines deadlines) {
            this.batch = batch;
            this.acks = acks;
            this.deadlines = deadlines;
            this.deadline = System.nanoTime() + settings.batchTimeout().toNanos();
            this.inFlight = new PendingPublish[batch.messages().size()];
            this.subjects = new String[batch.messages().size()];
            this.sizes = new int[batch.messages().size()];
        }

        Batch batch() {
            return batch;
        }

        CompletableFuture<Void> acks() {
            return acks;
        }

        /**
         * A recent clock reading for the deadlines of this batch's publishes: read for every
         * {@link #PUBLISHES_PER_CLOCK_READ}th publish and after any wait for the window, so a deadline is early
         * by no more than the time a few publishes take without waiting.
         */
        long publishClock() {
            if (clockUses <= 0) {
                clockUses = PUBLISHES_PER_CLOCK_READ;
                clock = System.nanoTime();
            }
            clockUses--;
            return clock;
        }

        /** Waits for {@code permits} places and {@code bytes}; false (with the batch failed) when they stayed taken. */
        boolean acquire(long bytes, int permits) {
            // Free room is taken without reading the clock (that is every message's path); a wait reads it, and
            // makes the next publish read it again.
            try {
                if (!window.tryAcquire(permits)) {
                    clockUses = 0;
                    long wait = deadline - System.nanoTime();
                    if (wait <= 0 || !window.tryAcquire(permits, wait, TimeUnit.NANOSECONDS)) {
                        return stayedFull();
                    }
                }
                if (!bytesWindow.tryAcquireNow(bytes)) {
                    clockUses = 0;
                    if (!bytesWindow.tryAcquire(bytes, deadline)) {
                        window.release(permits);
                        return stayedFull();
                    }
                }
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                acks.completeExceptionally(new RetryableException(name + ": interrupted while waiting for room in"
                        + " the in-flight window (batch " + batch.sequence() + ")", e));
                return false;
            }
        }

        private boolean stayedFull() {
            acks.completeExceptionally(new RetryableException(name + ": the in-flight window of "
                    + settings.maxInFlight() + " messages / " + settings.maxInFlightBytes()
                    + " bytes stayed full for the whole batch timeout ("
                    + settings.batchTimeout().toMillis() + " ms) while sending batch " + batch.sequence()));
            return false;
        }

        void release(int permits, long bytes) {
            window.release(permits);
            bytesWindow.release(bytes);
        }

        /**
         * A publish whose acknowledgement answers for the batch's events up to {@code index}; counted before it
         * goes out, since its PubAck may come before the publish call returns.
         */
        void sent(int index, PendingPublish ack, String subject, int size) {
            pending.incrementAndGet();
            inFlight[index] = ack;
            subjects[index] = subject;
            sizes[index] = size;
            count = index + 1;
        }

        /** {@code messages} stored; {@code duplicate}: the stream held them already. */
        void stored(int messages, boolean duplicate) {
            published.addAndGet(messages);
            if (duplicate) {
                duplicates.addAndGet(messages);
            }
        }

        void acknowledged() {
            if (pending.decrementAndGet() == 0) {
                acks.complete(null);
            }
        }

        /** Called once every message of the batch was sent. */
        void allSent() {
            if (pending.decrementAndGet() == 0) {
                acks.complete(null);
            } else if (!acks.isDone()) {
                armAckTimer();
            }
        }

        /**
         * One deadline per batch instead of one per message: send_timeout after the batch's last publish, every
         * message of it should have its PubAck (each was published at or before that point). If one has not,
         * the batch fails retryably naming the oldest unacknowledged event, as a per-message timeout would
         * (at most one batch's publishing time and one {@link AckDeadlines#SWEEP} later). A scheduled task per
         * message cost about a sixth of the jnats threads' profile samples (removal from the shared timer queue
         * on cancel), and a task per batch still cost the JDK's delay scheduler thread more than the sink thread
         * when batches are single events; the deadlines are swept instead, and let go of the batch once it
         * completed.
         */
        private void armAckTimer() {
            if (deadlines == null) {
                return;
            }
            int sent = count;
            deadlines.add(acks, System.nanoTime() + settings.sendTimeout().toNanos(), () -> {
                for (int i = 0; i < sent; i++) {
                    if (inFlight[i] != null && !inFlight[i].answered()) {
                        acks.completeExceptionally(fail.of(batch.events().get(i), subjects[i], sizes[i],
                                PubAckInbox.noPubAck(settings.sendTimeout())));
                        return;
                    }
                }
            });
        }
    }
}
