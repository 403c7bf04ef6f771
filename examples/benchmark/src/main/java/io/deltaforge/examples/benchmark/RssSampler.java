package io.deltaforge.examples.benchmark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/** Samples this process's resident set size every 100 ms, for a peak figure. Linux only (0 elsewhere). */
final class RssSampler {
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong peakKb = new AtomicLong();
    private final Thread thread;

    private RssSampler() {
        thread = new Thread(() -> {
            while (running.get()) {
                peakKb.accumulateAndGet(rssKb(), Math::max);
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

    private static long rssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (Exception ignored) {
            // Not Linux.
        }
        return 0;
    }
}
