package io.deltaforge.api.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.spi.SourceRecord;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * The records between the reader and the batcher, bounded twice: by count, and by an estimate of the heap
 * their rows take. A count alone lets a backlog of large rows (documents, TOASTed text) fill the heap, since
 * the reader decodes faster than a sink stores.
 *
 * <p>Half the byte bound is left to the count: a record estimated at no more than {@code maxBytes / (2 ×
 * maxRecords)} (2 KiB by default) is only counted, so all of them together stay within that half, and the
 * larger ones share the other half by their estimates. The usual small rows then cost one estimate and no
 * shared counter. A large record is always let in when no other is queued, so a row larger than the bound
 * still passes.
 *
 * <p>One producer (the reader) and one consumer (the batcher).
 */
final class RecordQueue {
    /** A record's own objects besides its rows: the event, its id, position and lists. */
    private static final long EVENT_OVERHEAD = 256;
    private static final long OBJECT = 16;
    private static final long STRING = 40;

    private final ArrayBlockingQueue<SourceRecord> records;
    private final long largeAbove;
    private final long maxLargeBytes;
    /** The estimates of the large records queued. */
    private final AtomicLong largeBytes = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition freed = lock.newCondition();
    private volatile boolean producerWaits;

    RecordQueue(int maxRecords, long maxBytes) {
        this.records = new ArrayBlockingQueue<>(maxRecords);
        this.largeAbove = maxBytes / (2L * maxRecords);
        this.maxLargeBytes = maxBytes - largeAbove * maxRecords;
    }

    /** Waits up to the timeout for room, by count and by bytes; false if there was none. */
    boolean offer(SourceRecord record, long timeout, TimeUnit unit) throws InterruptedException {
        long large = largeOf(record);
        long timeoutNanos = unit.toNanos(timeout);
        // The clock is read only when the bytes are short: two reads per record cost as much as the rest.
        if (large > 0 && !tryReserve(large)) {
            long start = System.nanoTime();
            if (!reserve(large, start + timeoutNanos)) {
                return false;
            }
            timeoutNanos = Math.max(0, timeoutNanos - (System.nanoTime() - start));
        }
        if (!records.offer(record, timeoutNanos, TimeUnit.NANOSECONDS)) {
            release(large);
            return false;
        }
        return true;
    }

    /**
     * The head, waiting up to the timeout; then up to {@code max} more records are moved into {@code more},
     * which must be empty: the batcher takes a run at a time, so the lock is taken once per run.
     */
    @Nullable SourceRecord poll(long timeoutNanos, Collection<SourceRecord> more, int max) throws InterruptedException {
        SourceRecord head = records.poll(timeoutNanos, TimeUnit.NANOSECONDS);
        if (head == null) {
            return null;
        }
        records.drainTo(more, max);
        // A large record is reserved before it is queued, so none was taken while none is counted.
        if (largeBytes.get() > 0) {
            long taken = largeOf(head);
            for (SourceRecord r : more) {
                taken += largeOf(r);
            }
            release(taken);
        }
        return head;
    }

    boolean isEmpty() {
        return records.isEmpty();
    }

    int size() {
        return records.size();
    }

    /** The record's estimate if it is large, else 0: what it holds of the byte bound. */
    private long largeOf(SourceRecord record) {
        long size = estimate(record);
        return size > largeAbove ? size : 0;
    }

    private boolean reserve(long size, long deadline) throws InterruptedException {
        lock.lock();
        try {
            producerWaits = true;
            while (!tryReserve(size)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                freed.awaitNanos(left);
            }
            return true;
        } finally {
            producerWaits = false;
            lock.unlock();
        }
    }

    private boolean tryReserve(long size) {
        while (true) {
            long used = largeBytes.get();
            if (used > 0 && used + size > maxLargeBytes) {
                return false;
            }
            if (largeBytes.compareAndSet(used, used + size)) {
                return true;
            }
        }
    }

    private void release(long size) {
        if (size == 0) {
            return;
        }
        largeBytes.addAndGet(-size);
        // The producer sets the flag before it checks the bytes again under the lock, so either it sees
        // this release or this sees the flag.
        if (producerWaits) {
            lock.lock();
            try {
                freed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** What a record's rows take on the heap, roughly: their values' sizes plus a fixed overhead. */
    static long estimate(SourceRecord record) {
        if (!(record instanceof ChangeEvent event)) {
            return OBJECT;
        }
        return EVENT_OVERHEAD + estimate(event.before()) + estimate(event.after());
    }

    private static long estimate(@Nullable Row row) {
        if (row == null) {
            return 0;
        }
        long size = OBJECT + 8L * row.size();
        for (int i = 0; i < row.size(); i++) {
            size += estimateValue(row.value(i));
        }
        return size;
    }

    /**
     * Exact class tests first: on the reader thread for every event, and under C1 (the launcher's
     * choice on two CPUs) an interface test of a boxed number costs a scan of its supertypes.
     */
    private static long estimateValue(@Nullable Object value) {
        if (value == null) {
            return 0;
        }
        Class<?> type = value.getClass();
        if (type == String.class) {
            return STRING + ((String) value).length();
        }
        if (type == Long.class || type == Boolean.class || type == Double.class) {
            return OBJECT;
        }
        if (type == RawJson.class) {
            return OBJECT + STRING + ((RawJson) value).json().length();
        }
        if (value instanceof List<?> list) {
            long size = STRING + 8L * list.size();
            for (Object element : list) {
                size += estimateValue(element);
            }
            return size;
        }
        if (value instanceof Map<?, ?> map) {
            long size = STRING + 32L * map.size();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                size += estimateValue(e.getKey()) + estimateValue(e.getValue());
            }
            return size;
        }
        // BigDecimal and anything else a source may hand over.
        return 3 * STRING;
    }
}
