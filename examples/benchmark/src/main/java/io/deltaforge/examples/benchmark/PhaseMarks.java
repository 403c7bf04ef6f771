package io.deltaforge.examples.benchmark;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The message counts at which a polled run's phases end: when each was first reached, and the {@link CpuSplit}
 * mark taken then, so that a phase's CPU is split between the marks of its two ends. Counts need not be reached
 * in order (the cold count may lie past the first quarters') and several reached in one poll share one mark.
 */
final class PhaseMarks {
    private final CpuSplit split;
    private final long[] counts;
    private final boolean[] reached;
    private final long[] reachedAtNanos;
    /** The split's mark taken when counts[i] was reached; mark 0 is the start. */
    private final int[] splitMark;
    private int marksTaken;
    private int left;

    /** Takes the split's start mark. */
    PhaseMarks(CpuSplit split, long... counts) {
        this.split = split;
        this.counts = counts.clone();
        this.reached = new boolean[counts.length];
        this.reachedAtNanos = new long[counts.length];
        this.splitMark = new int[counts.length];
        this.left = counts.length;
        split.mark();
        marksTaken = 1;
    }

    /** Records the counts {@code count} has reached at {@code nowNanos}; their indices, empty when none. */
    List<Integer> reach(long count, long nowNanos) {
        List<Integer> now = new ArrayList<>(0);
        for (int i = 0; i < counts.length; i++) {
            if (!reached[i] && count >= counts[i]) {
                reached[i] = true;
                reachedAtNanos[i] = nowNanos;
                splitMark[i] = marksTaken;
                left--;
                now.add(i);
            }
        }
        if (!now.isEmpty()) {
            split.mark();
            marksTaken++;
        }
        return now;
    }

    boolean allReached() {
        return left == 0;
    }

    /** The {@link System#nanoTime} at which count {@code i} was reached. */
    long reachedAt(int i) {
        return reachedAtNanos[i];
    }

    /** The CPU split from the start to count {@code to}, per event of {@code events}. */
    Map<String, Object> cpuUntil(int to, long events) {
        return split.between(0, splitMark[to], events);
    }

    /** The CPU split from count {@code from} to count {@code to}, per event of {@code events}. */
    Map<String, Object> cpuBetween(int from, int to, long events) {
        return split.between(splitMark[from], splitMark[to], events);
    }
}
