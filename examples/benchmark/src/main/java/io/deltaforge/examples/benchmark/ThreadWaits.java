package io.deltaforge.examples.benchmark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Per thread of a process, the CPU time it ran and the time it waited on a run queue (runnable, but the
 * cores were busy), from Linux's {@code /proc/PID/task/TID/schedstat}. On a shared two-core box this
 * tells a tail caused by waiting for a core apart from one caused by waiting for work or a lock.
 */
final class ThreadWaits {
    private record Sample(String name, long cpuNanos, long waitNanos, long slices) {
    }

    private final long pid;
    private final Map<String, Sample> before;

    private ThreadWaits(long pid) {
        this.pid = pid;
        this.before = sample(pid);
    }

    static ThreadWaits start(long pid) {
        return new ThreadWaits(pid);
    }

    /**
     * Since {@link #start}: the process's total run-queue wait and CPU (ms), how often its threads were put
     * on a core (each wake-up of a thread that waited for work counts once, so it tells the thread hand-offs),
     * and the {@code top} threads by run-queue wait as "name cpu_ms/wait_ms/times_scheduled". Threads of the
     * same name are added up (jnats' and the JVM's numbered threads by their name without digits).
     */
    Map<String, Object> summary(int top) {
        Map<String, Sample> after = sample(pid);
        Map<String, long[]> byName = new HashMap<>();
        long cpu = 0;
        long wait = 0;
        long scheduled = 0;
        for (Map.Entry<String, Sample> e : after.entrySet()) {
            Sample a = e.getValue();
            Sample b = before.getOrDefault(e.getKey(), new Sample(a.name(), 0, 0, 0));
            long dc = a.cpuNanos() - b.cpuNanos();
            long dw = a.waitNanos() - b.waitNanos();
            long ds = a.slices() - b.slices();
            cpu += dc;
            wait += dw;
            scheduled += ds;
            long[] t = byName.computeIfAbsent(a.name().replaceAll("[0-9]+", "#"), k -> new long[3]);
            t[0] += dc;
            t[1] += dw;
            t[2] += ds;
        }
        List<Map.Entry<String, long[]>> sorted = new ArrayList<>(byName.entrySet());
        sorted.sort((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1]));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu_ms", cpu / 1_000_000);
        m.put("run_queue_wait_ms", wait / 1_000_000);
        m.put("times_scheduled", scheduled);
        List<String> threads = new ArrayList<>();
        for (int i = 0; i < Math.min(top, sorted.size()); i++) {
            long[] t = sorted.get(i).getValue();
            threads.add(sorted.get(i).getKey() + " " + t[0] / 1_000_000 + "/" + t[1] / 1_000_000 + "/" + t[2]);
        }
        m.put("threads_cpu_ms/wait_ms/times_scheduled", threads);
        return m;
    }

    private static Map<String, Sample> sample(long pid) {
        Map<String, Sample> out = new HashMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    String[] s = Files.readString(task.resolve("schedstat")).trim().split(" ");
                    String name = Files.readString(task.resolve("comm")).trim();
                    out.put(task.getFileName().toString(), new Sample(name, Long.parseLong(s[0]), Long.parseLong(s[1]),
                            Long.parseLong(s[2])));
                } catch (IOException | RuntimeException ignored) {
                    // The thread ended meanwhile.
                }
            }
        } catch (IOException ignored) {
            // Not Linux, or the process is gone: no figures.
        }
        return out;
    }
}
