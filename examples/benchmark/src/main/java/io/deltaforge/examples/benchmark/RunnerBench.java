package io.deltaforge.examples.benchmark;

import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.Nats;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code ./dev.sh bench --runner}: the pipeline as users run it. Each contender is a process of its own,
 * started fresh for every measurement: DeltaForge is {@code ./deltaforge run --config FILE} with a YAML
 * file naming only what a user must write (default batch, window and JVM settings); with
 * {@code --debezium}, Debezium's embedded engine publishing with jnats ({@code examples/benchmark-debezium}).
 * Every contender meets the same data in the same run, in turns ({@code --rounds}), so each figure has its
 * counterpart measured minutes apart on the same box.
 * <ul>
 *   <li>W1: a backlog of {@code --w1-events} changes (W1's shape: inserts, updates, deletes in transactions
 *       of 100) waiting in each contender's slot; the process starts, and the stream's message count is
 *       polled. W1 cold: the first {@code --w1-cold} events, from the process start. W1 steady: the last
 *       quarter of the backlog. L2 is jnats {@code publishAsync} of as many pre-built messages of the same
 *       size in a fresh JVM of its own (window 4,096).</li>
 *   <li>W2: {@code --w2-rate} single-row transactions per second from {@code --writers} connections
 *       ({@code synchronous_commit} on) for {@code --w2-warmup} + {@code --w2-seconds} seconds; latency is
 *       from the commit time the message carries to its arrival at a JetStream consumer in another process
 *       ({@link LatencyConsumer}), over the transactions committed after the warm-up. Split at the time
 *       JetStream stored the message: commit → stored (the pipeline) and stored → received (delivery).</li>
 * </ul>
 * More contenders ({@code --contender 'label|ENV=VALUE|...'}, e.g. another {@code DELTAFORGE_JAR} or
 * {@code DELTAFORGE_JAVA_OPTS}) compare builds or JVM options in the same run; a label starting with
 * {@code debezium} is another Debezium run ({@code DEBEZIUM_JAVA_OPTS=-Ddbz.poll.interval.ms=10}).
 */
final class RunnerBench {
    private static final int TX_SIZE = 100;
    private static final int L2_WINDOW = 4096;
    private static final String L2_LABEL = "L2 jnats publishAsync";
    private static final String DEBEZIUM_LABEL = "debezium";
    /** W1's targets, as ratios to L2 (or Debezium) in the same round. */
    private static final double W1_COLD_TARGET = 0.6;
    private static final double W1_COLD_TARGET_DEBEZIUM = 2.5;
    private static final double W1_STEADY_TARGET = 0.9;
    private static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(10);
    private static final Duration STARTUP_TIMEOUT = Duration.ofMinutes(2);

    /** One process to measure: DeltaForge's runner (with extra environment) or Debezium. */
    private record Contender(String label, boolean debezium, Map<String, String> env) {
        static Contender parse(String spec) {
            String[] parts = spec.split("\\|");
            Map<String, String> env = new LinkedHashMap<>();
            for (int i = 1; i < parts.length; i++) {
                int eq = parts[i].indexOf('=');
                if (eq < 1) {
                    throw new IllegalArgumentException("--contender '" + spec + "': '" + parts[i] + "' is not ENV=VALUE");
                }
                env.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
            }
            return new Contender(parts[0], isDebezium(parts[0]), env);
        }

        /** A label starting with {@code debezium} names a Debezium run. */
        static boolean isDebezium(String label) {
            return label.startsWith(DEBEZIUM_LABEL);
        }
    }

    private record Settings(int w1Events, int w1Cold, int w2Rate, int w2Warmup, int w2Seconds, int writers,
                            int rounds, boolean w1, boolean w2, Path deltaforge, Path debeziumTarget,
                            List<Contender> contenders, Path out) {
        static Settings parse(List<String> a) {
            List<Contender> contenders = new ArrayList<>();
            contenders.add(new Contender("deltaforge", false, Map.of()));
            for (int i = 0; i < a.size(); i++) {
                if (a.get(i).equals("--contender")) {
                    contenders.add(Contender.parse(value(a, i)));
                }
            }
            if (a.contains("--debezium")) {
                contenders.add(new Contender(DEBEZIUM_LABEL, true, Map.of()));
            }
            int w1Events = intArg(a, "--w1-events", 800_000);
            return new Settings(w1Events, Math.min(w1Events, intArg(a, "--w1-cold", 200_000)),
                    intArg(a, "--w2-rate", 2000), intArg(a, "--w2-warmup", 5), intArg(a, "--w2-seconds", 20),
                    intArg(a, "--writers", 4), intArg(a, "--rounds", 1), !a.contains("--skip-w1"),
                    !a.contains("--skip-w2"), Path.of(stringArg(a, "--deltaforge", "../../deltaforge")),
                    Path.of(stringArg(a, "--debezium-target", "../benchmark-debezium/target")), contenders,
                    Path.of(stringArg(a, "--out", "target/runner-results.json")));
        }

        private static String value(List<String> a, int i) {
            if (i + 1 >= a.size()) {
                throw new IllegalArgumentException(a.get(i) + " needs a value");
            }
            return a.get(i + 1);
        }

        private static String stringArg(List<String> a, String name, String fallback) {
            int i = a.indexOf(name);
            return i < 0 ? fallback : value(a, i);
        }

        private static int intArg(List<String> a, String name, int fallback) {
            String v = stringArg(a, name, Integer.toString(fallback));
            try {
                int n = Integer.parseInt(v.replace("_", ""));
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException ignored) {
                // reported below
            }
            throw new IllegalArgumentException(name + " must be a positive whole number, was '" + v + "'");
        }
    }

    private final Settings settings;
    private final Map<String, Object> results = new LinkedHashMap<>();
    private List<SameRoundRatios> w1Ratios = List.of();
    private final Path work;

    private RunnerBench(Settings settings) throws IOException {
        this.settings = settings;
        this.work = Files.createDirectories(Path.of("target", "runner-bench"));
    }

    static void run(List<String> args) throws Exception {
        new RunnerBench(Settings.parse(args)).run();
    }

    private void run() throws Exception {
        if (!Files.isExecutable(settings.deltaforge())) {
            throw new IllegalArgumentException("--deltaforge " + settings.deltaforge() + " is not the ./deltaforge"
                    + " script; run this through ./dev.sh bench --runner");
        }
        results.put("machine", Benchmark.machine());
        results.put("uptime_at_start", uptime());
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("w1_events", settings.w1Events());
        s.put("w1_cold_events", settings.w1Cold());
        s.put("w2_rate_tx_per_s", settings.w2Rate());
        s.put("w2_warmup_s", settings.w2Warmup());
        s.put("w2_seconds", settings.w2Seconds());
        s.put("writers", settings.writers());
        s.put("rounds", settings.rounds());
        s.put("contenders", settings.contenders().stream().map(c -> c.label() + (c.env().isEmpty() ? "" : " " + c.env())).toList());
        s.put("DELTAFORGE_JAVA_OPTS", System.getenv().getOrDefault("DELTAFORGE_JAVA_OPTS", "(none)"));
        results.put("settings", s);
        try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start();
             Connection nc = Nats.connect(nats.url())) {
            // At LOG level, so that W2's rounds can show the checkpoints and autovacuum runs in their window.
            pg.addSettings(Map.of("log_min_messages", "log", "log_checkpoints", "on",
                    "log_autovacuum_min_duration", "0"));
            results.put("postgres", pg.queryString("SHOW server_version"));
            results.put("nats_server", nc.getServerInfo().getVersion());
            pg.execute("""
                    CREATE TABLE users (id bigserial PRIMARY KEY, name text, email text, balance numeric(12,2),
                                        tags text[], profile jsonb, created_at timestamptz DEFAULT now());
                    CREATE PUBLICATION users_pub FOR TABLE users;
                    CREATE TABLE lat (id bigserial PRIMARY KEY, payload text);
                    CREATE PUBLICATION lat_pub FOR TABLE lat;
                    """);
            if (settings.w1()) {
                runW1(pg, nats, nc);
            }
            if (settings.w2()) {
                runW2(pg, nats, nc);
            }
        }
        results.put("uptime_at_end", uptime());
        printTable();
        Path out = settings.out().toAbsolutePath();
        Files.createDirectories(out.getParent());
        Files.writeString(out, Json.write(results) + "\n");
        System.out.println("results written to " + out);
    }

    // ---- W1 ---------------------------------------------------------------------------------------

    private void runW1(PostgresServer pg, NatsServer nats, Connection nc) throws Exception {
        for (int r = 1; r <= settings.rounds(); r++) {
            for (Contender c : settings.contenders()) {
                pg.execute("SELECT pg_create_logical_replication_slot('" + slot("w1", c, r) + "', 'pgoutput')");
            }
        }
        loadBacklog(pg);
        List<Map<String, Object>> runs = new ArrayList<>();
        Integer size = null;
        for (int r = 1; r <= settings.rounds(); r++) {
            for (Contender c : inTurn(r)) {
                Map<String, Object> m = drain(pg, nats, nc, c, r);
                runs.add(m);
                String stream = (String) m.get("stream");
                if (size == null && !c.debezium()) {
                    var state = nc.jetStreamManagement().getStreamInfo(stream).getStreamState();
                    size = (int) Math.max(64, state.getByteCount() / Math.max(1, state.getMsgCount()) - 100);
                }
                deleteStream(nc, stream);
            }
            runs.add(l2(pg, nats, nc, size == null ? 600 : size, r));
            deleteStream(nc, l2Stream(r));
        }
        results.put("w1", runs);
        // Each target against its own reference: L2 for DeltaForge's contenders, Debezium's default run for the cold
        // phase's second target.
        List<Map<String, Object>> againstL2 = runs.stream().filter(m -> !isDebezium(m)).toList();
        List<SameRoundRatios> ratios = new ArrayList<>(SameRoundRatios.of(againstL2, L2_LABEL, "cold_events_per_s",
                W1_COLD_TARGET));
        ratios.addAll(SameRoundRatios.of(againstL2, L2_LABEL, "steady_events_per_s", W1_STEADY_TARGET));
        if (runs.stream().anyMatch(m -> DEBEZIUM_LABEL.equals(m.get("contender")))) {
            List<Map<String, Object>> againstDebezium = runs.stream().filter(m -> !L2_LABEL.equals(m.get("contender"))
                    && (!isDebezium(m) || DEBEZIUM_LABEL.equals(m.get("contender")))).toList();
            ratios.addAll(SameRoundRatios.of(againstDebezium, DEBEZIUM_LABEL, "cold_events_per_s",
                    W1_COLD_TARGET_DEBEZIUM));
        }
        w1Ratios = ratios;
        results.put("w1_ratios", ratios.stream().map(SameRoundRatios::toJson).toList());
    }

    private static boolean isDebezium(Map<String, Object> run) {
        return Contender.isDebezium(String.valueOf(run.get("contender")));
    }

    private void loadBacklog(PostgresServer pg) throws Exception {
        int insertTx = Math.max(2, settings.w1Events() / (2 * TX_SIZE));
        int updateTx = insertTx / 2;
        long t0 = System.nanoTime();
        try (java.sql.Connection c = pg.connect()) {
            Benchmark.writeW1(c, insertTx, TX_SIZE);
        }
        int changes = (insertTx + 2 * updateTx) * TX_SIZE;
        results.put("w1_changes", changes);
        System.out.printf(Locale.ROOT, "W1: %,d changes loaded in %.1f s%n", changes, (System.nanoTime() - t0) / 1e9);
    }

    /** One fresh process drains the backlog from its own slot; the stream's count is polled every 20 ms. */
    private Map<String, Object> drain(PostgresServer pg, NatsServer nats, Connection nc, Contender c, int round)
            throws Exception {
        long events = ((Number) results.get("w1_changes")).longValue();
        String stream = ("RB_W1_" + c.label() + "_" + round).toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9_]", "_");
        String subject = "w1." + stream.toLowerCase(Locale.ROOT) + ".events";
        createStream(nc, stream, subject);
        long quarter = events / 4;
        String load = uptime();
        long t0 = System.nanoTime();
        long first = 0;
        double cpuSeconds;
        // Reached: the cold count, then the end of each quarter.
        PhaseMarks progress;
        Map<String, Object> threads;
        Map<String, Object> lastQuarterThreads;
        try (SoakRunner p = start(c, pg, nats, slot("w1", c, round), "users_pub", subject, stream, "w1-" + round)) {
            ThreadWaits waits = ThreadWaits.start(p.pid());
            // Which thread the steady rate's CPU goes to: the last quarter alone (W1's deletes).
            ThreadWaits lastQuarterWaits = null;
            progress = new PhaseMarks(new CpuSplit(p.pid(), pg.dataDir()), settings.w1Cold(), quarter, 2 * quarter,
                    3 * quarter, events);
            var jsm = nc.jetStreamManagement();
            long deadline = t0 + DRAIN_TIMEOUT.toNanos();
            while (!progress.allReached()) {
                if (System.nanoTime() > deadline || !p.isAlive()) {
                    throw new IllegalStateException(c.label() + " did not drain " + events + " events (alive="
                            + p.isAlive() + "); the end of its log:\n" + p.logTail(30));
                }
                long count = jsm.getStreamInfo(stream).getStreamState().getMsgCount();
                long now = System.nanoTime();
                if (count > 0 && first == 0) {
                    first = now;
                }
                if (progress.reach(count, now).contains(3)) {
                    lastQuarterWaits = ThreadWaits.start(p.pid());
                }
                Thread.sleep(20);
            }
            cpuSeconds = ProcessHandle.of(p.pid()).flatMap(h -> h.info().totalCpuDuration())
                    .map(d -> d.toNanos() / 1e9).orElse(0.0);
            threads = waits.summary(12);
            lastQuarterThreads = lastQuarterWaits == null ? Map.of() : lastQuarterWaits.summary(12);
            p.stop(Duration.ofSeconds(30));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("contender", c.label());
        m.put("round", round);
        m.put("stream", stream);
        m.put("uptime", load);
        m.put("seconds_to_first_event", round((first - t0) / 1e9));
        m.put("cold_events_per_s", round(settings.w1Cold() / ((progress.reachedAt(0) - t0) / 1e9)));
        double[] quarters = new double[4];
        long previous = t0;
        for (int q = 0; q < 4; q++) {
            quarters[q] = round(quarter / ((progress.reachedAt(q + 1) - previous) / 1e9));
            previous = progress.reachedAt(q + 1);
        }
        m.put("quarter_events_per_s", Arrays.stream(quarters).boxed().toList());
        m.put("steady_events_per_s", quarters[3]);
        m.put("all_events_per_s", round(events / ((progress.reachedAt(4) - t0) / 1e9)));
        m.put("process_cpu_us_per_event", round(cpuSeconds * 1e6 / events));
        m.put("cpu_cold", progress.cpuUntil(0, settings.w1Cold()));
        m.put("cpu_last_quarter", progress.cpuBetween(3, 4, quarter));
        m.put("process_threads", threads);
        m.put("process_threads_last_quarter", lastQuarterThreads);
        System.out.printf(Locale.ROOT, "W1 %-12s round %d: first event %.2f s, cold %.0f ev/s, quarters %s, CPU %.1f us/ev (uptime %s)%n",
                c.label(), round, (first - t0) / 1e9, settings.w1Cold() / ((progress.reachedAt(0) - t0) / 1e9),
                Arrays.toString(quarters), cpuSeconds * 1e6 / events, load);
        System.out.printf(Locale.ROOT, "    cpu cold %s, last quarter %s%n    threads %s%n    threads in the last"
                + " quarter %s%n", m.get("cpu_cold"), m.get("cpu_last_quarter"), threads, lastQuarterThreads);
        return m;
    }

    /**
     * L2 in a fresh JVM, so its cold start is counted the same way. Its stream's count is polled as a drain's
     * is, so that its cold phase (from the child's start) and last quarter get the box's and nats-server's
     * share as the runner's do: whether L2 keeps the box busier than the pipeline, or only spends less per
     * message. The child reads its own CPU.
     */
    private Map<String, Object> l2(PostgresServer pg, NatsServer nats, Connection nc, int size, int round)
            throws Exception {
        long events = ((Number) results.get("w1_changes")).longValue();
        long cold = settings.w1Cold();
        long quarter = events / 4;
        String stream = l2Stream(round);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("contender", L2_LABEL);
        m.put("round", round);
        m.put("uptime", uptime());
        m.put("message_bytes", size);
        long natsCpu = Benchmark.serverCpuNanos("nats-server");
        // Reached: the cold count, the start of the last quarter, the end.
        PhaseMarks progress = new PhaseMarks(CpuSplit.withoutProcess(pg.dataDir()), cold, 3 * quarter, events);
        CompletableFuture<Map<String, Object>> child = CompletableFuture.supplyAsync(() -> {
            try {
                return Benchmark.runChild("l2-child", Benchmark.CHILD_HEAP, nats.url(), stream,
                        "l2." + round + ".events", Long.toString(events), Long.toString(cold), Integer.toString(size));
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        });
        var jsm = nc.jetStreamManagement();
        while (!progress.allReached()) {
            boolean finished = child.isDone();
            long count;
            try {
                count = jsm.getStreamInfo(stream).getStreamState().getMsgCount();
            } catch (JetStreamApiException notYetMade) {
                count = 0;
            }
            progress.reach(count, System.nanoTime());
            if (finished) {
                break;
            }
            Thread.sleep(20);
        }
        m.putAll(child.join());
        if (progress.allReached()) {
            m.put("cpu_cold", progress.cpuUntil(0, cold));
            m.put("cpu_last_quarter", progress.cpuBetween(1, 2, events - 3 * quarter));
        }
        m.put("nats_server_us_per_event", round((Benchmark.serverCpuNanos("nats-server") - natsCpu) / 1e3 / events));
        System.out.printf(Locale.ROOT, "L2 round %d: %s%n", round, m);
        return m;
    }

    /**
     * {@code --l2-child URL STREAM SUBJECT EVENTS COLD SIZE}: publishes EVENTS pre-built messages of SIZE bytes
     * (each with a Nats-Msg-Id, as the pipeline's), at most {@value #L2_WINDOW} unacknowledged, and prints the
     * rate of the first COLD acknowledgements (from the first publish), of the last quarter and overall.
     */
    static void l2Child(String url, String stream, String subject, long events, long cold, int size) throws Exception {
        try (Connection nc = Nats.connect(url)) {
            createStream(nc, stream, subject);
            JetStream js = nc.jetStream();
            byte[] body = new byte[size];
            Arrays.fill(body, (byte) 'x');
            Semaphore window = new Semaphore(L2_WINDOW);
            AtomicLong acked = new AtomicLong();
            long quarter = events / 4;
            long[] marks = {cold, 3 * quarter, events};
            long[] reached = new long[marks.length];
            // The process's CPU time at each mark, read where the mark is reached: what publishing costs this
            // JVM per message, beside what the runner spends per event on the same box.
            long[] cpuAt = new long[marks.length];
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                    .getOperatingSystemMXBean();
            long cpu0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            List<CompletableFuture<PublishAck>> last = new ArrayList<>();
            for (long i = 0; i < events; i++) {
                window.acquire();
                io.nats.client.impl.Headers h = new io.nats.client.impl.Headers();
                h.put("Nats-Msg-Id", stream + "-" + i);
                CompletableFuture<PublishAck> f = js.publishAsync(subject, h, body);
                f.whenComplete((ack, err) -> {
                    window.release();
                    long n = acked.incrementAndGet();
                    for (int k = 0; k < marks.length; k++) {
                        if (n == marks[k]) {
                            reached[k] = System.nanoTime();
                            cpuAt[k] = os.getProcessCpuTime();
                        }
                    }
                });
                if (i >= events - L2_WINDOW) {
                    last.add(f);
                }
            }
            CompletableFuture.allOf(last.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
            while (acked.get() < events) {
                Thread.sleep(1);
            }
            System.out.println("RESULT cold_events_per_s=" + round(cold / ((reached[0] - t0) / 1e9))
                    + " steady_events_per_s=" + round((events - 3 * quarter) / ((reached[2] - reached[1]) / 1e9))
                    + " all_events_per_s=" + round(events / ((reached[2] - t0) / 1e9))
                    + " cpu_us_per_event_cold=" + round((cpuAt[0] - cpu0) / 1e3 / cold)
                    + " cpu_us_per_event_last_quarter=" + round((cpuAt[2] - cpuAt[1]) / 1e3 / (events - 3 * quarter)));
        }
        System.exit(0);
    }

    /**
     * The contenders in the order they run in round {@code r}: each round starts one further down the list. A
     * drain that follows another one of the same backlog in a round ran up to a third faster in its cold phase (runs K
     * and L in docs/performance-history.md: the same two builds, each order once), so a fixed order favours the later.
     */
    private List<Contender> inTurn(int r) {
        List<Contender> turn = new ArrayList<>(settings.contenders());
        Collections.rotate(turn, -(r - 1));
        return turn;
    }

    // ---- W2 ---------------------------------------------------------------------------------------

    private void runW2(PostgresServer pg, NatsServer nats, Connection nc) throws Exception {
        List<Map<String, Object>> runs = new ArrayList<>();
        for (int r = 1; r <= settings.rounds(); r++) {
            for (Contender c : inTurn(r)) {
                Map<String, Object> m = latency(pg, nats, nc, c, r);
                runs.add(m);
                deleteStream(nc, (String) m.get("stream"));
            }
        }
        results.put("w2", runs);
    }

    private Map<String, Object> latency(PostgresServer pg, NatsServer nats, Connection nc, Contender c, int round)
            throws Exception {
        String slot = slot("w2", c, round);
        pg.execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        String stream = ("RB_W2_" + c.label() + "_" + round).toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9_]", "_");
        String subject = "w2." + stream.toLowerCase(Locale.ROOT) + ".events";
        createStream(nc, stream, subject);
        Path samples = work.resolve("w2-" + c.label() + "-" + round + ".txt");
        Files.deleteIfExists(samples);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("contender", c.label());
        m.put("round", round);
        m.put("stream", stream);
        try (SoakRunner p = start(c, pg, nats, slot, "lat_pub", subject, stream, "w2-" + round)) {
            awaitSlotActive(pg, slot, p);
            Process consumer = startConsumer(nats, stream, subject, samples);
            try {
                m.put("uptime", uptime());
                ThreadWaits waits = ThreadWaits.start(p.pid());
                CpuSplit split = new CpuSplit(p.pid(), pg.dataDir());
                split.mark();
                StallWitness witness = StallWitness.start();
                Load window;
                try {
                    window = load(pg);
                } finally {
                    witness.close();
                }
                // The wall-clock start, to line the stalls' offsets up with traces taken outside the benchmark.
                m.put("window_start", Instant.ofEpochSecond(0, window.fromMicros() * 1000).toString());
                m.put("page_cache", witness.pageCache(window.fromMicros()));
                split.mark();
                m.put("process_threads", waits.summary(8));
                m.put("cpu_per_tx", split.between(0, 1, window.committed()));
                var jsm = nc.jetStreamManagement();
                long committed = window.committed();
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (jsm.getStreamInfo(stream).getStreamState().getMsgCount() < committed
                        && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                Thread.sleep(500); // the last deliveries to the consumer
                consumer.getOutputStream().close();
                if (!consumer.waitFor(60, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the latency consumer did not write its samples");
                }
                m.put("tx_committed", committed);
                summarize(m, Files.readAllLines(samples), window.fromMicros(), window.toMicros());
                m.put("slow_commit_calls_at_s_ms", window.slowCommits().stream()
                        .map(slow -> List.of(round((slow[0] - window.fromMicros()) / 1e6), ms(slow[1]))).toList());
                m.put("postgres_log", StallWitness.postgresLog(pg.logFile(), window.fromMicros(), window.toMicros()));
                m.put("nats_log", StallWitness.natsLog(nats.logFile(), window.fromMicros(), window.toMicros()));
            } finally {
                consumer.destroyForcibly();
            }
            p.stop(Duration.ofSeconds(30));
        }
        pg.execute("SELECT pg_drop_replication_slot('" + slot + "')");
        System.out.printf(Locale.ROOT, "W2 %-12s round %d: %s%n", c.label(), round, m);
        return m;
    }

    private static void summarize(Map<String, Object> m, List<String> lines, long fromMicros, long toMicros) {
        List<long[]> in = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.split(" ");
            long commit = Long.parseLong(f[0]);
            if (commit >= fromMicros && commit < toMicros) {
                in.add(new long[] {commit, Long.parseLong(f[1]), Long.parseLong(f[2])});
            }
        }
        long[] e2e = in.stream().mapToLong(s -> s[2] - s[0]).sorted().toArray();
        long[] pipeline = in.stream().mapToLong(s -> s[1] - s[0]).sorted().toArray();
        long[] delivery = in.stream().mapToLong(s -> s[2] - s[1]).sorted().toArray();
        m.put("received_in_window", e2e.length);
        m.put("p50_ms", ms(percentile(e2e, 0.50)));
        m.put("p90_ms", ms(percentile(e2e, 0.90)));
        m.put("p99_ms", ms(percentile(e2e, 0.99)));
        m.put("max_ms", ms(e2e.length == 0 ? 0 : e2e[e2e.length - 1]));
        m.put("commit_to_stored_p50_p99_max_ms", List.of(ms(percentile(pipeline, 0.5)), ms(percentile(pipeline, 0.99)),
                ms(pipeline.length == 0 ? 0 : pipeline[pipeline.length - 1])));
        m.put("stored_to_received_p50_p99_max_ms", List.of(ms(percentile(delivery, 0.5)), ms(percentile(delivery, 0.99)),
                ms(delivery.length == 0 ? 0 : delivery[delivery.length - 1])));
        m.put("stalls_commit_to_stored", stalls(in, fromMicros));
    }

    /**
     * Runs of messages, in commit order, that took {@link #SLOW_MICROS} or more from commit to storage,
     * joined while less than 100 ms of commits lie between them: each as its first commit (s into the
     * window), its length (ms of commits), how many messages and the slowest's time (ms).
     */
    private static List<List<Object>> stalls(List<long[]> samples, long fromMicros) {
        List<long[]> byCommit = new ArrayList<>(samples);
        byCommit.sort((a, b) -> Long.compare(a[0], b[0]));
        List<List<Object>> stalls = new ArrayList<>();
        long first = -1;
        long last = -1;
        long worst = 0;
        int n = 0;
        for (long[] s : byCommit) {
            long took = s[1] - s[0];
            if (took < SLOW_MICROS) {
                continue;
            }
            if (n > 0 && s[0] - last >= 100_000) {
                stalls.add(List.of(round((first - fromMicros) / 1e6), ms(last - first), n, ms(worst)));
                n = 0;
                worst = 0;
            }
            if (n == 0) {
                first = s[0];
            }
            last = s[0];
            worst = Math.max(worst, took);
            n++;
        }
        if (n > 0) {
            stalls.add(List.of(round((first - fromMicros) / 1e6), ms(last - first), n, ms(worst)));
        }
        return stalls;
    }

    /**
     * The paced load: the measurement window (epoch µs from the end of the warm-up to the end), the number of
     * committed transactions, and the commits whose call took {@link #SLOW_MICROS} or more (each as its
     * start in epoch µs and its duration), which tell a stall in PostgreSQL's commit from one after it.
     */
    private record Load(long fromMicros, long toMicros, long committed, List<long[]> slowCommits) {}

    /** What counts as slow, for a message's commit → stored and for a writer's commit call. */
    private static final long SLOW_MICROS = 50_000;

    private Load load(PostgresServer pg) throws Exception {
        int writers = settings.writers();
        long period = TimeUnit.SECONDS.toNanos(writers) / settings.w2Rate();
        long t0 = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
        long end = t0 + TimeUnit.SECONDS.toNanos(settings.w2Warmup() + settings.w2Seconds());
        long windowFrom = LatencyConsumer.micros(Instant.now()) + TimeUnit.SECONDS.toMicros(settings.w2Warmup()) + 100_000;
        AtomicLong committed = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<long[]> slowCommits = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int w = 0; w < writers; w++) {
            long offset = period * w / writers;
            Thread t = new Thread(() -> {
                try (java.sql.Connection c = pg.connect(); Statement st = c.createStatement()) {
                    st.execute("SET synchronous_commit = on");
                    PreparedStatement insert = c.prepareStatement("INSERT INTO lat (payload) VALUES ('x')");
                    long next = t0 + offset;
                    while (next < end) {
                        long wait = next - System.nanoTime();
                        if (wait > 0) {
                            LockSupport.parkNanos(wait);
                            continue;
                        }
                        long started = System.nanoTime();
                        insert.executeUpdate();
                        long took = (System.nanoTime() - started) / 1000;
                        if (took >= SLOW_MICROS) {
                            slowCommits.add(new long[] {LatencyConsumer.micros(Instant.now()) - took, took});
                        }
                        committed.incrementAndGet();
                        next += period;
                    }
                } catch (Exception e) {
                    errors.add(e);
                }
            }, "w2-writer-" + w);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        long windowTo = LatencyConsumer.micros(Instant.now());
        if (!errors.isEmpty()) {
            throw new IllegalStateException("W2 load failed", errors.get(0));
        }
        return new Load(windowFrom, windowTo, committed.get(), slowCommits);
    }

    private Process startConsumer(NatsServer nats, String stream, String subject, Path samples) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // Its collections are logged: a pause there would count as delivery time, for every contender alike.
        String gcLog = "-Xlog:gc:file=" + samples.toAbsolutePath() + ".gc.log::filecount=0";
        Process p = new ProcessBuilder(java, gcLog, "-cp", System.getProperty("java.class.path"),
                Benchmark.class.getName(), "--latency-consumer", nats.url(), stream, subject,
                samples.toAbsolutePath().toString())
                .redirectErrorStream(true).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = r.readLine()) != null && !line.equals("READY")) {
            System.out.println("  consumer: " + line);
        }
        if (line == null) {
            throw new IllegalStateException("the latency consumer exited before it was ready");
        }
        return p;
    }

    // ---- contenders -------------------------------------------------------------------------------

    private SoakRunner start(Contender c, PostgresServer pg, NatsServer nats, String slot, String publication,
                             String subject, String stream, String phase) throws Exception {
        Path log = work.resolve(phase + "-" + c.label() + ".log");
        Files.deleteIfExists(log);
        SoakRunner p;
        if (c.debezium()) {
            Path target = settings.debeziumTarget();
            Path cp = target.resolve("classpath.txt");
            if (!Files.exists(cp)) {
                throw new IllegalArgumentException(cp + " is missing; build it: mvn -B -q -DskipTests package -pl"
                        + " examples/benchmark-debezium");
            }
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> command = new ArrayList<>(List.of(java));
            String opts = c.env().getOrDefault("DEBEZIUM_JAVA_OPTS", System.getenv("DEBEZIUM_JAVA_OPTS"));
            if (opts != null && !opts.isBlank()) {
                command.addAll(List.of(opts.trim().split("\\s+")));
            }
            command.addAll(List.of("-cp", target.resolve("classes") + ":" + Files.readString(cp).trim(),
                    "io.deltaforge.examples.benchdbz.DebeziumToJetStream", pg.host(), Integer.toString(pg.port()),
                    pg.user(), pg.password(), pg.database(), slot, publication, nats.url(), subject));
            p = SoakRunner.start(command, Map.of(), log);
        } else {
            // A one-letter pipeline name: Linux keeps 15 characters of a thread's name, and the engine's
            // threads (deltaforge-b-reader, -batcher, -sink-...) stay apart in ThreadWaits.
            Path config = Files.writeString(work.resolve(phase + "-" + c.label() + ".yaml"), """
                    apiVersion: deltaforge/v1
                    kind: Pipeline
                    metadata:
                      name: b
                    spec:
                      source:
                        type: postgres
                        config:
                          id: bench-postgres
                          dsn: ${POSTGRES_DSN}
                          slot: %s
                          publication: %s
                      sinks:
                        - type: nats
                          config:
                            id: bench-nats
                            url: ${NATS_URL}
                            subject: %s
                            stream: %s
                            envelope:
                              type: cloudevents
                              type_prefix: com.acme.bench
                    """.formatted(slot, publication, subject, stream));
            Map<String, String> env = new LinkedHashMap<>(c.env());
            env.put("POSTGRES_DSN", pg.dsn());
            env.put("NATS_URL", nats.url());
            p = SoakRunner.start(settings.deltaforge(), config, env, log);
        }
        return p;
    }

    private static void awaitSlotActive(PostgresServer pg, String slot, SoakRunner p) throws Exception {
        long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
        while (!"t".equals(pg.queryString("SELECT active FROM pg_replication_slots WHERE slot_name = '" + slot + "'"))) {
            if (System.nanoTime() > deadline || !p.isAlive()) {
                throw new IllegalStateException("slot " + slot + " did not become active; the end of the log:\n"
                        + p.logTail(30));
            }
            Thread.sleep(50);
        }
    }

    private static String slot(String phase, Contender c, int round) {
        return ("rb_" + phase + "_" + c.label() + "_" + round).toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
    }

    private static void createStream(Connection nc, String stream, String subject) throws Exception {
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name(stream).subjects(subject)
                .storageType(StorageType.File).build());
    }

    /**
     * A measured stream goes before the next contender runs, so each meets a server holding no earlier run's
     * messages: in run Q, the first W2 round after W1 (which leaves millions of messages) had a 142 ms stall
     * between commit and storage, and no other round had one.
     */
    private static void deleteStream(Connection nc, String stream) throws Exception {
        nc.jetStreamManagement().deleteStream(stream);
    }

    private static String l2Stream(int round) {
        return "RB_L2_" + round;
    }

    // ---- output -----------------------------------------------------------------------------------

    private void printTable() {
        System.out.println();
        System.out.println("DeltaForge runner benchmark (same run; PostgreSQL " + results.get("postgres")
                + ", nats-server " + results.get("nats_server") + "; uptime at start: " + results.get("uptime_at_start")
                + ", at end: " + results.get("uptime_at_end") + ")");
        System.out.println("-".repeat(100));
        if (results.get("w1") instanceof List<?> w1) {
            System.out.printf(Locale.ROOT, "%-24s %5s %9s %11s %11s   %s%n", "W1 " + results.get("w1_changes") + " events",
                    "round", "first (s)", "cold ev/s", "steady ev/s", "quarters ev/s, CPU us/ev");
            for (Object o : w1) {
                Map<?, ?> m = (Map<?, ?>) o;
                Object none = "-";
                System.out.printf(Locale.ROOT, "%-24s %5s %9s %11s %11s   %s %s%n", m.get("contender"), m.get("round"),
                        (m.containsKey("seconds_to_first_event") ? m.get("seconds_to_first_event") : none), m.get("cold_events_per_s"),
                        m.get("steady_events_per_s"), (m.containsKey("quarter_events_per_s") ? m.get("quarter_events_per_s") : none),
                        (m.containsKey("process_cpu_us_per_event") ? m.get("process_cpu_us_per_event") : none));
            }
        }
        if (!w1Ratios.isEmpty()) {
            System.out.println("W1 against L2 or Debezium in the same round (a target is judged on the median over many"
                    + " rounds: one run's median of three can land either side)");
            w1Ratios.forEach(r -> System.out.println(r.line()));
        }
        if (results.get("w2") instanceof List<?> w2) {
            System.out.printf(Locale.ROOT, "%-24s %5s %7s %7s %7s %7s %13s %20s   %s%n",
                    "W2 " + settings.w2Rate() + " tx/s", "round", "p50 ms", "p90 ms", "p99 ms", "max ms", "cpu/wait s", "box busy/krn %, cs/tx",
                    "commit->stored p50/p99/max, stored->received p50/p99/max");
            for (Object o : w2) {
                Map<?, ?> m = (Map<?, ?>) o;
                Object none = "-";
                Map<?, ?> threads = (Map<?, ?>) m.get("process_threads");
                String cpuWait = threads == null ? "-" : String.format(Locale.ROOT, "%.1f/%.1f",
                        ((Number) threads.get("cpu_ms")).longValue() / 1000.0,
                        ((Number) threads.get("run_queue_wait_ms")).longValue() / 1000.0);
                Map<?, ?> box = (Map<?, ?>) m.get("cpu_per_tx");
                String boxLoad = box == null ? "-" : box.get("box_busy_percent") + "/" + box.get("box_kernel_percent")
                        + ", " + box.get("box_context_switches_per_event");
                System.out.printf(Locale.ROOT, "%-24s %5s %7s %7s %7s %7s %13s %20s   %s %s (n=%s, uptime %s)%n",
                        m.get("contender"), m.get("round"), m.get("p50_ms"), m.get("p90_ms"), m.get("p99_ms"),
                        m.get("max_ms"), cpuWait, boxLoad,
                        m.get("commit_to_stored_p50_p99_max_ms"), m.get("stored_to_received_p50_p99_max_ms"),
                        m.get("received_in_window"), m.get("uptime"));
            }
        }
        System.out.println("-".repeat(100));
    }

    static String uptime() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(p * sorted.length) - 1))];
    }

    private static double ms(long micros) {
        return round(micros / 1000.0);
    }

    private static double round(double d) {
        return Benchmark.round(d);
    }
}
