package io.deltaforge.examples.benchmark;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/** Samples this process's resident set size every 100 ms, for a peak figure. Linux only (0 elsewhere). */
final class RssSampler {
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong peakKb = new AtomicLong();
    /** Heap in use (live and garbage), sampled; bounded by -Xmx. */
    private final AtomicLong peakHeapUsed = new AtomicLong();
    /** Heap still in use right after a collection, summed over the pools: the live set. */
    private final AtomicLong peakLiveHeap = new AtomicLong();
    /** Every sample in kB, for a steady-state figure; guarded by itself. */
    private final java.util.List<Long> samples = new java.util.ArrayList<>();
    private final Thread thread;

    private RssSampler() {
        thread = new Thread(() -> {
            while (running.get()) {
                sampleHeap();
                long kb = rssKb();
                peakKb.accumulateAndGet(kb, Math::max);
                synchronized (samples) {
                    samples.add(kb);
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "rss-sampler");
        thread.setDaemon(true);
    }

    static RssSampler start() {
        RssSampler s = new RssSampler();
        s.thread.start();
        return s;
    }

    long stopAndPeakMb() {
        running.set(false);
        peakKb.accumulateAndGet(rssKb(), Math::max);
        return peakKb.get() / 1024;
    }

    /**
     * The median of the samples taken in the second half of the run so far, in MB: the resident size once
     * heap and buffers have grown to their working size, without the start-up ramp.
     */
    long steadyMb() {
        synchronized (samples) {
            if (samples.isEmpty()) {
                return 0;
            }
            java.util.List<Long> tail = new java.util.ArrayList<>(samples.subList(samples.size() / 2, samples.size()));
            java.util.Collections.sort(tail);
            return tail.get(tail.size() / 2) / 1024;
        }
    }

    private void sampleHeap() {
        peakHeapUsed.accumulateAndGet(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), Math::max);
        long live = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getCollectionUsage() != null) {
                live += pool.getCollectionUsage().getUsed();
            }
        }
        peakLiveHeap.accumulateAndGet(live, Math::max);
    }

    /** The most heap in use at a sample, in MB. */
    long peakHeapUsedMb() {
        sampleHeap();
        return peakHeapUsed.get() >> 20;
    }

    /** The largest heap left after a collection, in MB: what the program really held. */
    long peakLiveHeapMb() {
        sampleHeap();
        return peakLiveHeap.get() >> 20;
    }

    private static long rssKb() {
        return rssKb(Path.of("/proc/self/status"));
    }

    /** VmRSS of a {@code /proc/PID/status} file in kB; 0 when the process is gone or the OS is not Linux. */
    static long rssKb(Path procStatus) {
        try {
            for (String line : Files.readAllLines(procStatus)) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (Exception ignored) {
            // Not Linux, or the process has exited.
        }
        return 0;
    }
}
