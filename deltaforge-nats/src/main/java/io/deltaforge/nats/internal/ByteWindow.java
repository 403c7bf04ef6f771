package io.deltaforge.nats.internal;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A bound on the bytes of unacknowledged publishes. A message larger than the whole window may go when
 * nothing else is in flight, so one big event never blocks forever. Thread-safe: acquired by the sink
 * thread, released by jnats' acknowledgement threads.
 */
final class ByteWindow {
    private final long capacity;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();
    private long inFlight;

    ByteWindow(long capacity) {
        this.capacity = capacity;
    }

    /** Waits until {@code bytes} fit (or nothing is in flight); false when the deadline passed first. */
    boolean tryAcquire(long bytes, long deadlineNanos) throws InterruptedException {
        lock.lock();
        try {
            while (!fits(bytes)) {
                long wait = deadlineNanos - System.nanoTime();
                if (wait <= 0) {
                    return false;
                }
                released.awaitNanos(wait);
            }
            inFlight += bytes;
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Takes {@code bytes} when they fit now (or nothing is in flight); never waits. */
    boolean tryAcquireNow(long bytes) {
        lock.lock();
        try {
            if (!fits(bytes)) {
                return false;
            }
            inFlight += bytes;
            return true;
        } finally {
            lock.unlock();
        }
    }

    private boolean fits(long bytes) {
        return inFlight == 0 || inFlight + bytes <= capacity;
    }

    void release(long bytes) {
        lock.lock();
        try {
            inFlight -= bytes;
            released.signalAll();
        } finally {
            lock.unlock();
        }
    }

    long inFlight() {
        lock.lock();
        try {
            return inFlight;
        } finally {
            lock.unlock();
        }
    }

    long capacity() {
        return capacity;
    }

}
