package io.deltaforge.nats.internal;

import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The publishes of one connection waiting for their PubAcks, found by the number in their reply subject: a
 * ring of slots indexed by that number, at least as many as the in-flight window has places. Every waiting
 * publish holds at least one window place, so a publish about to go out always finds a free slot; numbers
 * whose slot is still taken by an older publish are skipped. Whoever takes a publish out of its slot first
 * (its reply, its deadline, the connection closing) answers it, so each is answered exactly once and a late
 * or repeated reply finds nothing.
 *
 * <p>Threads: {@link #add} on the sending thread (the engine sends one batch at a time); {@link #take},
 * {@link #expired} and {@link #takeAll} on any thread.
 */
final class PendingReplies {
    private final AtomicReferenceArray<@Nullable PendingPublish> slots;
    private final int mask;
    /** The next reply number to try; sending thread only. */
    private long next;

    PendingReplies(int places) {
        int size = Integer.highestOneBit(Math.max(1, places - 1)) << 1;
        this.slots = new AtomicReferenceArray<>(size);
        this.mask = size - 1;
    }

    /** Puts {@code publish} in a free slot until {@code deadlineNanos}; returns its reply number. */
    long add(PendingPublish publish, long deadlineNanos) {
        for (int tried = 0; tried <= mask; tried++) {
            long number = next++;
            int slot = (int) (number & mask);
            if (slots.get(slot) == null) {
                publish.replyNumber = number;
                publish.deadlineNanos = deadlineNanos;
                slots.set(slot, publish);
                return number;
            }
        }
        throw new IllegalStateException("more publishes wait for a PubAck than the " + (mask + 1)
                + " reply slots; the in-flight window should have prevented this");
    }

    /** The publish with this reply number, taken out; null when it was answered already (or never existed). */
    @Nullable PendingPublish take(long number) {
        int slot = (int) (number & mask);
        PendingPublish publish = slots.get(slot);
        if (publish != null && publish.replyNumber == number && slots.compareAndSet(slot, publish, null)) {
            return publish;
        }
        return null;
    }

    /** Takes out every publish whose deadline passed and hands it to {@code expired}. */
    void expired(long nowNanos, Consumer<PendingPublish> expired) {
        for (int slot = 0; slot <= mask; slot++) {
            PendingPublish publish = slots.get(slot);
            if (publish != null && nowNanos - publish.deadlineNanos >= 0 && slots.compareAndSet(slot, publish, null)) {
                expired.accept(publish);
            }
        }
    }

    /** Takes out every waiting publish and hands it to {@code taken}. */
    void takeAll(Consumer<PendingPublish> taken) {
        for (int slot = 0; slot <= mask; slot++) {
            PendingPublish publish = slots.get(slot);
            if (publish != null && slots.compareAndSet(slot, publish, null)) {
                taken.accept(publish);
            }
        }
    }

    int capacity() {
        return mask + 1;
    }
}
