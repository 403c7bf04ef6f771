package io.deltaforge.examples.benchmark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a backlog drain's CPU goes, phase by phase: the measured process, nats-server, PostgreSQL (the
 * postmaster of the benchmark's data directory and its children: the walsender decoding the backlog), and
 * how busy the whole box was (from {@code /proc/stat}, other sessions included). Tells a drain held back
 * by CPU (the box busy, the servers' share per event) from one waiting on something else (idle cores).
 */
final class CpuSplit {
    /** CPU times in nanoseconds, the runner's minor page faults and the whole box's counters, at one moment. */
    private record Sample(long runner, long runnerFaults, long nats, long postgres, Box box) {
    }

    /**
     * Busy, kernel (system, interrupts), I/O-wait and total clock ticks of all cores, and context switches, since
     * boot; all zero when {@code /proc/stat} cannot be read.
     */
    private record Box(long busy, long kernel, long ioWait, long total, long switches) {
    }

    private final long runnerPid;
    private final Path postgresDataDir;
    private final List<Sample> samples = new ArrayList<>();

    CpuSplit(long runnerPid, Path postgresDataDir) {
        this.runnerPid = runnerPid;
        this.postgresDataDir = postgresDataDir;
    }

    /**
     * The box and the servers alone, for a process that reads its own CPU (L2's child: a mark taken as it
     * finishes could find it gone); {@link #between} then leaves out the runner's figures.
     */
    static CpuSplit withoutProcess(Path postgresDataDir) {
        return new CpuSplit(-1, postgresDataDir);
    }

    /** Takes a sample now; call once at the start and once at the end of each phase. */
    void mark() {
        boolean measured = runnerPid >= 0;
        samples.add(new Sample(measured ? cpu(ProcessHandle.of(runnerPid).stream().toList()) : 0,
                measured ? minorFaults(runnerPid) : 0, natsServer(), postgres(), box()));
    }

    /**
     * Between marks {@code from} and {@code to} (counted from 0 in the order taken), over {@code events}: CPU µs
     * per event of the runner / nats-server / PostgreSQL, the runner's minor page faults per thousand events (a
     * heap that grows into fresh memory faults on every new page, and the kernel zeroes each one), the box's
     * busy share in percent, the kernel's part of it (system, interrupts), its idle time with a disk read or write
     * outstanding (I/O wait: an idle core while a drain runs is either that or threads waiting on each other),
     * and the box's context switches per event: a thread that waits for work and is woken costs two, so they
     * count hand-offs between threads.
     */
    Map<String, Object> between(int from, int to, long events) {
        Sample a = samples.get(from);
        Sample b = samples.get(to);
        double n = Math.max(1, events);
        Map<String, Object> m = new LinkedHashMap<>();
        if (runnerPid >= 0) {
            m.put("runner_us_per_event", Benchmark.round((b.runner() - a.runner()) / 1e3 / n));
            m.put("runner_minor_faults_per_1000_events", Benchmark.round((b.runnerFaults() - a.runnerFaults()) * 1e3 / n));
        }
        m.put("nats_server_us_per_event", Benchmark.round((b.nats() - a.nats()) / 1e3 / n));
        m.put("postgres_us_per_event", Benchmark.round((b.postgres() - a.postgres()) / 1e3 / n));
        Box x = a.box();
        Box y = b.box();
        long total = y.total() - x.total();
        m.put("box_busy_percent", percent(y.busy() - x.busy(), total));
        m.put("box_kernel_percent", percent(y.kernel() - x.kernel(), total));
        m.put("box_iowait_percent", percent(y.ioWait() - x.ioWait(), total));
        m.put("box_context_switches_per_event", Benchmark.round((y.switches() - x.switches()) / n));
        return m;
    }

    private static double percent(long ticks, long total) {
        return total <= 0 ? 0 : Benchmark.round(100.0 * ticks / total);
    }

    private static long natsServer() {
        return cpu(ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("/nats-server")).orElse(false)).toList());
    }

    /** Field 10 of /proc/PID/stat; 0 when the process is gone or the OS is not Linux. */
    private static long minorFaults(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            return Long.parseLong(f[7]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** The postmaster (its pid is the first line of postmaster.pid) and every process it started. */
    private long postgres() {
        try {
            long pid = Long.parseLong(Files.readAllLines(postgresDataDir.resolve("postmaster.pid")).get(0).trim());
            List<ProcessHandle> all = new ArrayList<>();
            ProcessHandle.of(pid).ifPresent(p -> {
                all.add(p);
                p.descendants().forEach(all::add);
            });
            return cpu(all);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static long cpu(List<ProcessHandle> processes) {
        return processes.stream().mapToLong(p -> p.info().totalCpuDuration().map(Duration::toNanos).orElse(0L)).sum();
    }

    private static Box box() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/stat"));
            String[] f = lines.get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length && i <= 8; i++) {
                total += Long.parseLong(f[i]);
            }
            long ioWait = Long.parseLong(f[5]);
            long idle = Long.parseLong(f[4]) + ioWait;
            long kernel = Long.parseLong(f[3]) + Long.parseLong(f[6]) + Long.parseLong(f[7]);
            long switches = lines.stream().filter(l -> l.startsWith("ctxt "))
                    .mapToLong(l -> Long.parseLong(l.substring(5))).findFirst().orElse(0);
            return new Box(total - idle, kernel, ioWait, total, switches);
        } catch (IOException | RuntimeException e) {
            return new Box(0, 0, 0, 0, 0);
        }
    }
}
