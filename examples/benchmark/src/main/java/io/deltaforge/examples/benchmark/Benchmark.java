package io.deltaforge.examples.benchmark;

import io.deltaforge.api.Lsn;
import io.deltaforge.api.Pipeline;
import io.deltaforge.envelopes.CloudEventsEnvelope;
import io.deltaforge.nats.AtomicTransactions;
import io.deltaforge.nats.NatsSink;
import io.deltaforge.postgres.PostgresSource;
import io.deltaforge.postgres.SnapshotMode;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.PublishOptions;
import io.nats.client.PushSubscribeOptions;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.NatsMessage;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * The benchmark of issue 7, in one process run: it starts its own PostgreSQL and nats-server (as the
 * tests do) and measures, side by side on the same data,
 * <ul>
 *   <li>W1 backlog drain: 200,000 changes (100k inserts, 50k updates, 50k deletes in 2,000 transactions
 *       of 100 rows) drained into a file-backed JetStream stream as CloudEvents, three times;</li>
 *   <li>the limits: L1 pgjdbc reading the same backlog and discarding it, L2 jnats {@code publishAsync}
 *       of as many pre-built messages of the same size with the same in-flight window;</li>
 *   <li>W2 live latency: 2,000 single-row transactions per second, commit to JetStream subscriber;</li>
 *   <li>W3 one transaction of 1,000,000 inserts, drained by a child JVM with {@code -Xmx256m}.</li>
 * </ul>
 * Prints a table and writes JSON ({@code --out}, default {@code target/benchmark-results.json}).
 * {@code --quick} runs a tenth of everything, as a smoke test.
 */
public final class Benchmark {
    private static final int IN_FLIGHT = 4096;
    /** The heap of the child JVMs that measure memory (W1 RSS, W3, W4). */
    static final String CHILD_HEAP = "-Xmx256m";

    private final boolean quick;
    private final int txSize = 100;
    private final int insertTx;
    private final int w2Rate;
    private final int w2Seconds;
    private final int w3Rows;
    /**
     * W1 runs before the three measured ones, reported apart: a pipeline runs for days, and the first
     * 200,000 events of a JVM are slowed by JIT compilation (several CPU-seconds of the compiler threads
     * on two cores), which L1 and L2 (a few small loops) hardly pay.
     */
    private final int w1Warmups;
    private final int w4Rows;
    /** Rows per snapshot query in W4, the source's default. */
    private static final int W4_CHUNK = 10_000;
    private final Map<String, Object> results = new LinkedHashMap<>();

    private Benchmark(boolean quick) {
        this.quick = quick;
        this.insertTx = quick ? 100 : 1000;
        this.w2Rate = 2000;
        this.w2Seconds = quick ? 5 : 30;
        this.w3Rows = quick ? 100_000 : 1_000_000;
        this.w1Warmups = quick ? 1 : 2;
        this.w4Rows = quick ? 100_000 : 1_000_000;
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--w3-child")) {
            W3Child.run(args[1], args[2], args[3], args[4], args[5], Integer.parseInt(args[6]));
            return;
        }
        if (args.length > 0 && args[0].equals("--w1-child")) {
            W1Child.run(args[1], args[2], Integer.parseInt(args[3]), Lsn.parse(args[4]));
            return;
        }
        if (args.length > 0 && args[0].equals("--w4-child")) {
            W4Child.run(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]));
            return;
        }
        if (args.length > 0 && args[0].equals("--latency-consumer")) {
            LatencyConsumer.run(args[1], args[2], args[3], Path.of(args[4]));
            return;
        }
        if (args.length > 0 && args[0].equals("--l2-child")) {
            RunnerBench.l2Child(args[1], args[2], args[3], Long.parseLong(args[4]), Long.parseLong(args[5]),
                    Integer.parseInt(args[6]));
            return;
        }
        List<String> a = Arrays.asList(args);
        if (a.contains("--runner")) {
            RunnerBench.run(a);
            System.exit(0);
        }
        if (a.contains("--soak")) {
            System.exit(Soak.run(a) ? 0 : 1);
        }
        boolean quick = a.contains("--quick");
        Path out = Path.of(a.contains("--out") ? a.get(a.indexOf("--out") + 1) : "target/benchmark-results.json");
        new Benchmark(quick).run(a, out);
        System.exit(0);
    }

    private void run(List<String> args, Path out) throws Exception {
        results.put("machine", machine());
        results.put("quick", quick);
        try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start();
             Connection nc = Nats.connect(nats.url())) {
            results.put("postgres", pg.queryString("SHOW server_version"));
            W1Data data = loadW1(pg);
            List<Map<String, Object>> warmups = new ArrayList<>();
            List<Map<String, Object>> w1 = new ArrayList<>();
            for (int run = 1; run <= w1Warmups + 3; run++) {
                (run <= w1Warmups ? warmups : w1).add(runW1(pg, nats, nc, data, run));
            }
            results.put("w1_warmup_runs", warmups);
            results.put("w1", w1);
            boolean atomic = nc.getServerInfo().isSameOrNewerThanVersion("2.12.0");
            if (atomic) {
                // The same workload once more with atomic_transactions: on, after the measured runs (warm JVM).
                results.put("w1_atomic_on", runW1(pg, nats, nc, data, w1Warmups + 4));
            } else {
                results.put("atomic_transactions", "not measured: nats-server " + nc.getServerInfo().getVersion()
                        + " has no atomic batch publish (2.12+)");
            }
            double l1 = runL1(pg, data);
            double l2 = runL2(nc, data, avgPayload(nc, "BENCH_W1_" + (w1Warmups + 1)));
            results.put("l1_events_per_s", round(l1));
            results.put("l2_msgs_per_s", round(l2));
            double median = median(w1.stream().mapToDouble(m -> (double) m.get("events_per_s")).toArray());
            results.put("w1_median_events_per_s", round(median));
            results.put("w1_ratio_to_min_limit", round(median / Math.min(l1, l2)));
            Map<String, Object> w1Child = runChild("w1-child", CHILD_HEAP, pg.dsn(), nats.url(),
                    String.valueOf(data.changes()), data.beforeLastTx().toString());
            results.put("w1_child_jvm", w1Child);
            if (!args.contains("--skip-w4")) {
                Map<String, Object> w4 = runW4(pg, nats);
                if (w4.get("rows_per_s") instanceof String rate) {
                    w4.put("ratio_to_l2", round(Double.parseDouble(rate) / l2));
                }
                results.put("w4", w4);
            }
            if (!args.contains("--skip-w2")) {
                results.put("w2", runW2(pg, nats, nc, false));
                if (atomic) {
                    results.put("w2_atomic_on", runW2(pg, nats, nc, true));
                }
            }
            if (!args.contains("--skip-w3")) {
                results.put("w3", runW3(pg, nats));
            }
        }
        printTable();
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, Json.write(results) + "\n");
        System.out.println("results written to " + out.toAbsolutePath());
    }

    // ---- W1 and its limits ------------------------------------------------------------------------

    private record W1Data(int changes, Lsn beforeLastTx) {
    }

    private W1Data loadW1(PostgresServer pg) throws Exception {
        pg.execute("""
                CREATE TABLE users (id bigserial PRIMARY KEY, name text, email text, balance numeric(12,2),
                                    tags text[], profile jsonb, created_at timestamptz DEFAULT now());
                CREATE PUBLICATION users_pub FOR TABLE users;
                """);
        List<String> slots = new ArrayList<>(List.of("bench_l1", "bench_w1_child"));
        for (int run = 1; run <= w1Warmups + 4; run++) {
            slots.add("bench_w1_" + run);
        }
        for (String slot : slots) {
            pg.execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        }
        long t0 = System.nanoTime();
        int updateTx = insertTx / 2;
        Lsn beforeLast;
        try (java.sql.Connection c = pg.connect()) {
            beforeLast = writeW1(c, insertTx, txSize);
        }
        int changes = (insertTx + 2 * updateTx) * txSize;
        results.put("w1_load_seconds", round((System.nanoTime() - t0) / 1e9));
        results.put("w1_changes", changes);
        return new W1Data(changes, beforeLast);
    }

    /**
     * W1's changes on table {@code users}: {@code insertTx} transactions of {@code txSize} inserts, then half
     * as many transactions of updates and of deletes. Returns the WAL position before the last transaction.
     */
    static Lsn writeW1(java.sql.Connection c, int insertTx, int txSize) throws java.sql.SQLException {
        int updateTx = insertTx / 2;
        Lsn beforeLast = Lsn.ZERO;
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            for (int t = 0; t < insertTx; t++) {
                long from = (long) t * txSize + 1;
                st.execute("INSERT INTO users (name, email, balance, tags, profile) SELECT 'user ' || g, "
                        + "'user' || g || '@example.com', (g % 100000) / 100.0, ARRAY['tag' || (g % 7), 'b'], "
                        + "jsonb_build_object('n', g, 'city', 'Lyon', 'vip', g % 2 = 0) "
                        + "FROM generate_series(" + from + ", " + (from + txSize - 1) + ") g");
                c.commit();
            }
            for (int t = 0; t < updateTx; t++) {
                long from = (long) t * txSize + 1;
                st.execute("UPDATE users SET balance = balance + 1, name = name || '!' WHERE id BETWEEN "
                        + from + " AND " + (from + txSize - 1));
                c.commit();
            }
            for (int t = 0; t < updateTx; t++) {
                long from = (long) (insertTx - updateTx + t) * txSize + 1;
                if (t == updateTx - 1) {
                    try (var rs = st.executeQuery("SELECT pg_current_wal_lsn()")) {
                        rs.next();
                        beforeLast = Lsn.parse(rs.getString(1));
                    }
                    c.commit();
                }
                st.execute("DELETE FROM users WHERE id BETWEEN " + from + " AND " + (from + txSize - 1));
                c.commit();
            }
        }
        return beforeLast;
    }

    /** One W1 run; the run after the measured ones ({@code w1Warmups + 4}) publishes with atomic transactions. */
    private Map<String, Object> runW1(PostgresServer pg, NatsServer nats, Connection nc, W1Data data, int run)
            throws Exception {
        String stream = "BENCH_W1_" + run;
        boolean atomic = run > w1Warmups + 3;
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name(stream)
                .subjects("w1." + run + ".>").storageType(StorageType.File).allowAtomicPublish(atomic).build());
        io.micrometer.core.instrument.simple.SimpleMeterRegistry meters =
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        Pipeline pipeline = Pipeline.builder().name("w1-" + run).meterRegistry(meters)
                .source(PostgresSource.builder().id("bench").dsn(pg.dsn()).slot("bench_w1_" + run)
                        .publication("users_pub").build())
                .sink(NatsSink.builder().id("nats").url(nats.url()).stream(stream).subject("w1." + run + ".events")
                        .maxInFlight(IN_FLIGHT).atomicTransactions(atomicMode(atomic)).build())
                .envelope(CloudEventsEnvelope.withTypePrefix("com.acme.users"))
                .build();
        RssSampler rss = RssSampler.start();
        Map<Long, Long> threadCpu0 = threadCpu();
        long gc0 = gcMillis();
        long jit0 = ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
        long nats0 = serverCpuNanos("nats-server");
        long cpu0 = processCpuNanos();
        long t0 = System.nanoTime();
        pipeline.start();
        awaitDrained(pipeline, data.changes(), data.beforeLastTx(), Duration.ofMinutes(5));
        long elapsed = System.nanoTime() - t0;
        long cpu = processCpuNanos() - cpu0;
        // Before stop, while the pipeline's threads still live: their CPU time is all from this run.
        Map<String, Object> byThread = cpuByThread(threadCpu0, "deltaforge-w1-" + run + "-", data.changes());
        // Read before stopping, as the thread figures. (PostgreSQL runs as another user when we are root,
        // and its processes do not show their CPU to us; the walsender is not counted.)
        long natsCpu = serverCpuNanos("nats-server") - nats0;
        double javaThreads = byThread.values().stream().mapToDouble(v -> (double) v).sum();
        // GC and JIT compiler threads are not Java threads: what the process used beyond the Java threads.
        byThread.put("gc_jit_vm", round(cpu / 1e3 / data.changes() - javaThreads));
        long gcMillis = gcMillis() - gc0;
        long jitMillis = ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - jit0;
        pipeline.stop();
        long stored = nc.jetStreamManagement().getStreamInfo(stream).getStreamState().getMsgCount();
        if (stored != data.changes()) {
            throw new IllegalStateException("stream " + stream + " holds " + stored + " messages, expected " + data.changes());
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("run", run);
        m.put("warmup", run <= w1Warmups);
        m.put("seconds", round(elapsed / 1e9));
        m.put("events_per_s", round(data.changes() / (elapsed / 1e9)));
        m.put("cpu_us_per_event", round(cpu / 1e3 / data.changes()));
        m.put("cpu_seconds_per_million", round(cpu / 1e9 * 1_000_000 / data.changes()));
        m.put("peak_rss_mb", rss.stopAndPeakMb());
        m.put("cpu_us_per_event_by_thread", byThread);
        m.put("nats_server_cpu_us_per_event", round(natsCpu / 1e3 / data.changes()));
        m.put("gc_ms", gcMillis);
        m.put("avg_batch_events", round(data.changes() / Math.max(1, meters.counter("deltaforge.batches",
                "pipeline", "w1-" + run).count())));
        m.put("jit_ms", jitMillis);
        System.out.printf(Locale.ROOT, "W1 run %d%s: %.0f events/s, %.1f CPU-us/event %s, GC %d ms, JIT %d ms%n",
                run, run <= w1Warmups ? " (warm-up)" : "", data.changes() / (elapsed / 1e9), cpu / 1e3 / data.changes(), byThread, gcMillis, jitMillis);
        return m;
    }

    private static void awaitDrained(Pipeline pipeline, long events, Lsn beyond, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            var s = pipeline.status();
            if (s.failure() != null) {
                throw new IllegalStateException("pipeline failed", s.failure());
            }
            if (s.eventsDelivered() >= events && s.checkpoint() != null && s.checkpoint().isAfter(beyond)) {
                return;
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("not drained within " + timeout + ": " + pipeline.status());
    }

    /** L1: pgjdbc reads the same backlog from its own slot and discards it. */
    private double runL1(PostgresServer pg, W1Data data) throws Exception {
        Properties props = new Properties();
        PGProperty.USER.set(props, pg.user());
        PGProperty.PASSWORD.set(props, pg.password());
        PGProperty.REPLICATION.set(props, "database");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "10");
        PGProperty.PREFER_QUERY_MODE.set(props, "simple");
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(pg.jdbcUrl(), props)) {
            long t0 = System.nanoTime();
            PGReplicationStream stream = c.unwrap(PGConnection.class).getReplicationAPI().replicationStream()
                    .logical().withSlotName("bench_l1").withSlotOption("proto_version", "1")
                    .withSlotOption("publication_names", "users_pub").withStartPosition(LogSequenceNumber.INVALID_LSN)
                    .start();
            long rows = 0;
            while (rows < data.changes()) {
                ByteBuffer b = stream.readPending();
                if (b == null) {
                    Thread.sleep(1);
                    continue;
                }
                byte kind = b.get(b.position());
                if (kind == 'I' || kind == 'U' || kind == 'D') {
                    rows++;
                }
            }
            double rate = rows / ((System.nanoTime() - t0) / 1e9);
            stream.close();
            System.out.printf(Locale.ROOT, "L1 pgjdbc read+discard: %.0f events/s%n", rate);
            return rate;
        }
    }

    private static int avgPayload(Connection nc, String stream) throws Exception {
        var state = nc.jetStreamManagement().getStreamInfo(stream).getStreamState();
        return (int) Math.max(64, state.getByteCount() / Math.max(1, state.getMsgCount()) - 100);
    }

    /** L2: jnats publishAsync of pre-built messages, same size and window, into a fresh file stream. */
    private double runL2(Connection nc, W1Data data, int size) throws Exception {
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("BENCH_L2").subjects("l2.>")
                .storageType(StorageType.File).build());
        JetStream js = nc.jetStream();
        byte[] body = new byte[size];
        Arrays.fill(body, (byte) 'x');
        List<NatsMessage> messages = new ArrayList<>(data.changes());
        List<String> ids = new ArrayList<>(data.changes());
        for (int i = 0; i < data.changes(); i++) {
            messages.add(NatsMessage.builder().subject("l2.events").data(body).build());
            ids.add(UUID.randomUUID().toString());
        }
        Semaphore window = new Semaphore(IN_FLIGHT);
        long nats0 = serverCpuNanos("nats-server");
        long cpu0 = processCpuNanos();
        long t0 = System.nanoTime();
        List<CompletableFuture<PublishAck>> acks = new ArrayList<>(data.changes());
        for (int i = 0; i < messages.size(); i++) {
            window.acquire();
            CompletableFuture<PublishAck> f = js.publishAsync(messages.get(i),
                    PublishOptions.builder().messageId(ids.get(i)).build());
            f.whenComplete((ack, err) -> window.release());
            acks.add(f);
        }
        CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
        double rate = data.changes() / ((System.nanoTime() - t0) / 1e9);
        results.put("l2_cpu_us_per_msg", round((processCpuNanos() - cpu0) / 1e3 / data.changes()));
        results.put("l2_nats_server_cpu_us_per_msg", round((serverCpuNanos("nats-server") - nats0) / 1e3 / data.changes()));
        System.out.printf(Locale.ROOT, "L2 jnats publishAsync (%d B): %.0f msg/s%n", size, rate);
        return rate;
    }

    // ---- W2 ---------------------------------------------------------------------------------------

    /** W2, with atomic_transactions off or on (the second run reuses the table, with its own slot and stream). */
    private Map<String, Object> runW2(PostgresServer pg, NatsServer nats, Connection nc, boolean atomic) throws Exception {
        if (!atomic) {
            pg.execute("""
                    CREATE TABLE lat (id bigserial PRIMARY KEY, payload text, created_at timestamptz);
                    CREATE PUBLICATION lat_pub FOR TABLE lat;
                    """);
        }
        String suffix = atomic ? "_atomic" : "";
        String subject = "w2" + suffix + ".events";
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("BENCH_W2" + suffix)
                .subjects("w2" + suffix + ".>").storageType(StorageType.File).allowAtomicPublish(atomic).build());
        Pipeline pipeline = Pipeline.builder().name("w2" + suffix)
                .source(PostgresSource.builder().id("bench").dsn(pg.dsn()).slot("bench_w2" + suffix).publication("lat_pub")
                        .build())
                .sink(NatsSink.builder().id("nats").url(nats.url()).stream("BENCH_W2" + suffix).subject(subject)
                        .atomicTransactions(atomicMode(atomic)).build())
                .envelope(CloudEventsEnvelope.withTypePrefix("com.acme.lat"))
                .build();
        pipeline.start();
        ConcurrentLinkedQueue<Long> latenciesMicros = new ConcurrentLinkedQueue<>();
        JetStreamSubscription sub = nc.jetStream().subscribe(subject, PushSubscribeOptions.builder().ordered(true).build());
        AtomicBoolean receiving = new AtomicBoolean(true);
        Thread receiver = new Thread(() -> {
            while (receiving.get()) {
                try {
                    Message m = sub.nextMessage(Duration.ofMillis(200));
                    if (m != null) {
                        Instant now = Instant.now();
                        latenciesMicros.add(now.getEpochSecond() * 1_000_000 + now.getNano() / 1000
                                - commitMicros(m.getData()));
                    }
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "w2-subscriber");
        receiver.start();

        int generators = 4;
        int total = w2Rate * w2Seconds;
        AtomicLong committed = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime() + 200_000_000L;
        for (int g = 0; g < generators; g++) {
            int offset = g;
            Thread t = new Thread(() -> generate(pg, start, offset, generators, total, committed), "w2-gen-" + g);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (latenciesMicros.size() < committed.get() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        receiving.set(false);
        receiver.join();
        pipeline.stop();
        long[] lat = latenciesMicros.stream().mapToLong(Long::longValue).sorted().toArray();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("transactions", committed.get());
        m.put("received", lat.length);
        m.put("achieved_tx_per_s", round(committed.get() / (double) w2Seconds));
        m.put("p50_ms", round(percentile(lat, 0.50) / 1000.0));
        m.put("p99_ms", round(percentile(lat, 0.99) / 1000.0));
        m.put("max_ms", round(lat.length == 0 ? 0 : lat[lat.length - 1] / 1000.0));
        System.out.println("W2 latency" + (atomic ? " (atomic_transactions: on)" : "") + ": " + m);
        return m;
    }

    private static AtomicTransactions atomicMode(boolean atomic) {
        return atomic ? AtomicTransactions.ON : AtomicTransactions.OFF;
    }

    private void generate(PostgresServer pg, long startNanos, int offset, int generators, int total, AtomicLong committed) {
        long intervalNanos = 1_000_000_000L / w2Rate;
        try (java.sql.Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("SET synchronous_commit = on");
            var insert = c.prepareStatement("INSERT INTO lat (payload, created_at) VALUES ('x', clock_timestamp())");
            for (int i = offset; i < total; i += generators) {
                long due = startNanos + i * intervalNanos;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                insert.executeUpdate();
                committed.incrementAndGet();
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The CloudEvents {@code time} attribute (the commit time) of a structured event, in µs since the epoch. */
    private static long commitMicros(byte[] json) {
        String s = new String(json, 0, Math.min(json.length, 400), StandardCharsets.UTF_8);
        int i = s.indexOf("\"time\":\"") + 8;
        Instant t = Instant.parse(s.substring(i, s.indexOf('"', i)));
        return t.getEpochSecond() * 1_000_000 + t.getNano() / 1000;
    }

    // ---- W1 in a child JVM, W4 -------------------------------------------------------------------

    /**
     * Runs this class in a child JVM with a set heap ({@code --<mode> args...}) and returns the key=value
     * pairs of its {@code RESULT} line, with its exit code.
     */
    static Map<String, Object> runChild(String mode, String heap, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, heap, "-cp", System.getProperty("java.class.path"),
                Benchmark.class.getName(), "--" + mode));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("heap", heap);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("RESULT ")) {
                    for (String kv : line.substring(7).split(" ")) {
                        String[] parts = kv.split("=", 2);
                        result.put(parts[0], parts[1]);
                    }
                } else if (line.contains("ERROR") || line.contains("Exception")) {
                    System.out.println("  " + mode + ": " + line);
                }
            }
        }
        result.put("exit_code", p.waitFor());
        System.out.println(mode + ": " + result);
        return result;
    }

    /** The resident set and heap figures of a child run, as one RESULT fragment. */
    private static String memory(RssSampler rss) {
        long peakHeap = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
                peakHeap += pool.getPeakUsage().getUsed();
            }
        }
        long steady = rss.steadyMb();
        // peak_heap_pools_mb adds each pool's own peak (as W3 reports it), an upper bound that may pass -Xmx;
        // peak_heap_used_mb is the most in use at one sample; peak_live_heap_mb what survived a collection.
        return "peak_heap_used_mb=" + rss.peakHeapUsedMb() + " peak_live_heap_mb=" + rss.peakLiveHeapMb()
                + " peak_heap_pools_mb=" + (peakHeap >> 20) + " steady_rss_mb=" + steady + " peak_rss_mb="
                + rss.stopAndPeakMb() + " max_heap_mb=" + (Runtime.getRuntime().maxMemory() >> 20);
    }

    /**
     * W1 once more, in a child JVM with {@link #CHILD_HEAP}, for the pipeline's own footprint: the resident
     * set while it drains the backlog, without the benchmark's other pipelines and its default heap.
     */
    static final class W1Child {
        static void run(String dsn, String natsUrl, int events, Lsn beforeLastTx) throws Exception {
            try (Connection nc = Nats.connect(natsUrl)) {
                nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("BENCH_W1_CHILD")
                        .subjects("w1child.>").storageType(StorageType.File).build());
            }
            Pipeline pipeline = Pipeline.builder().name("w1-child")
                    .source(PostgresSource.builder().id("bench").dsn(dsn).slot("bench_w1_child")
                            .publication("users_pub").build())
                    .sink(NatsSink.builder().id("nats").url(natsUrl).stream("BENCH_W1_CHILD")
                            .subject("w1child.events").maxInFlight(IN_FLIGHT).build())
                    .envelope(CloudEventsEnvelope.withTypePrefix("com.acme.users"))
                    .build();
            RssSampler rss = RssSampler.start();
            long cpu0 = processCpuNanos();
            long t0 = System.nanoTime();
            pipeline.start();
            awaitDrained(pipeline, events, beforeLastTx, Duration.ofMinutes(5));
            double seconds = (System.nanoTime() - t0) / 1e9;
            long cpu = processCpuNanos() - cpu0;
            String memory = memory(rss);
            pipeline.stop();
            System.out.println("RESULT events=" + events + " seconds=" + round(seconds) + " events_per_s="
                    + round(events / seconds) + " cpu_us_per_event=" + round(cpu / 1e3 / events) + " " + memory);
            System.exit(0);
        }
    }

    /**
     * W4: an initial snapshot of {@link #w4Rows} rows of a table shaped like W1's, through the pipeline in a
     * child JVM with {@link #CHILD_HEAP} (postgres source, {@code snapshot(INITIAL, 10000)}).
     */
    private Map<String, Object> runW4(PostgresServer pg, NatsServer nats) throws Exception {
        long t0 = System.nanoTime();
        pg.execute("""
                CREATE TABLE users_w4 (id bigserial PRIMARY KEY, name text, email text, balance numeric(12,2),
                                       tags text[], profile jsonb, created_at timestamptz DEFAULT now());
                CREATE PUBLICATION w4_pub FOR TABLE users_w4;
                """);
        pg.execute("INSERT INTO users_w4 (name, email, balance, tags, profile) SELECT 'user ' || g, "
                + "'user' || g || '@example.com', (g % 100000) / 100.0, ARRAY['tag' || (g % 7), 'b'], "
                + "jsonb_build_object('n', g, 'city', 'Lyon', 'vip', g % 2 = 0) FROM generate_series(1, " + w4Rows + ") g");
        // A table at rest, as a snapshot normally meets it: hint bits set, statistics known (the progress
        // log's row estimate comes from them), autovacuum not racing the measurement.
        pg.execute("VACUUM ANALYZE users_w4");
        System.out.printf(Locale.ROOT, "W4: %d rows loaded in %.1f s%n", w4Rows, (System.nanoTime() - t0) / 1e9);
        Map<String, Object> result = runChild("w4-child", CHILD_HEAP, pg.dsn(), nats.url(), String.valueOf(w4Rows),
                String.valueOf(W4_CHUNK));
        result.put("chunk_size", W4_CHUNK);
        return result;
    }

    /** Runs in a child JVM: the snapshot of {@code users_w4}, timed until every row is acknowledged. */
    static final class W4Child {
        static void run(String dsn, String natsUrl, int rows, int chunk) throws Exception {
            try (Connection nc = Nats.connect(natsUrl)) {
                nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("BENCH_W4")
                        .subjects("w4.>").storageType(StorageType.File).build());
            }
            Pipeline pipeline = Pipeline.builder().name("w4")
                    .source(PostgresSource.builder().id("bench").dsn(dsn).slot("bench_w4").publication("w4_pub")
                            .snapshot(SnapshotMode.INITIAL, chunk).build())
                    .sink(NatsSink.builder().id("nats").url(natsUrl).stream("BENCH_W4").subject("w4.events")
                            .maxInFlight(IN_FLIGHT).build())
                    .envelope(CloudEventsEnvelope.withTypePrefix("com.acme.users"))
                    .build();
            RssSampler rss = RssSampler.start();
            long cpu0 = processCpuNanos();
            long t0 = System.nanoTime();
            pipeline.start();
            // The snapshot's closing commit moves the checkpoint once every row is delivered.
            awaitDrained(pipeline, rows, Lsn.ZERO, Duration.ofMinutes(10));
            double seconds = (System.nanoTime() - t0) / 1e9;
            long cpu = processCpuNanos() - cpu0;
            String memory = memory(rss);
            pipeline.stop();
            try (Connection nc = Nats.connect(natsUrl)) {
                long stored = nc.jetStreamManagement().getStreamInfo("BENCH_W4").getStreamState().getMsgCount();
                System.out.println("RESULT rows=" + rows + " stored=" + stored + " seconds=" + round(seconds)
                        + " rows_per_s=" + round(rows / seconds) + " cpu_us_per_row=" + round(cpu / 1e3 / rows)
                        + " " + memory);
            }
            System.exit(0);
        }
    }

    // ---- W3 ---------------------------------------------------------------------------------------

    private Map<String, Object> runW3(PostgresServer pg, NatsServer nats) throws Exception {
        Map<String, Object> result = runChild("w3-child", CHILD_HEAP, pg.jdbcUrl(), pg.user(), pg.password(),
                pg.dsn(), nats.url(), String.valueOf(w3Rows));
        result.put("completed", (int) result.get("exit_code") == 0 && result.containsKey("seconds"));
        return result;
    }

    /** Runs in a child JVM with {@code -Xmx256m}: one transaction of {@code rows} inserts, drained. */
    static final class W3Child {
        static void run(String jdbcUrl, String user, String password, String dsn, String natsUrl, int rows)
                throws Exception {
            try (java.sql.Connection c = java.sql.DriverManager.getConnection(jdbcUrl, user, password);
                 Statement st = c.createStatement()) {
                st.execute("CREATE TABLE big (id bigserial PRIMARY KEY, v text, n int)");
                st.execute("CREATE PUBLICATION big_pub FOR TABLE big");
                st.execute("SELECT pg_create_logical_replication_slot('bench_w3', 'pgoutput')");
                c.setAutoCommit(false);
                st.execute("INSERT INTO big (v, n) SELECT md5(g::text), g FROM generate_series(1, " + rows + ") g");
                c.commit();
                c.setAutoCommit(true);
                Lsn before;
                try (var rs = st.executeQuery("SELECT pg_current_wal_lsn()")) {
                    rs.next();
                    before = Lsn.parse(rs.getString(1));
                }
                try (Connection nc = Nats.connect(natsUrl)) {
                    nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("BENCH_W3").subjects("w3.>")
                            .storageType(StorageType.File).build());
                }
                // One more commit after the big one, so the checkpoint can pass 'before'.
                st.execute("CREATE TABLE w3_done (x int)");
                Pipeline pipeline = Pipeline.builder().name("w3")
                        .source(PostgresSource.builder().id("bench").dsn(dsn).slot("bench_w3").publication("big_pub").build())
                        .sink(NatsSink.builder().id("nats").url(natsUrl).stream("BENCH_W3").subject("w3.events").build())
                        .envelope(CloudEventsEnvelope.withTypePrefix("com.acme.big"))
                        .build();
                RssSampler rss = RssSampler.start();
                long t0 = System.nanoTime();
                pipeline.start();
                awaitDrained(pipeline, rows, Lsn.ZERO, Duration.ofMinutes(10));
                double seconds = (System.nanoTime() - t0) / 1e9;
                String memory = memory(rss);
                pipeline.stop();
                System.out.println("RESULT rows=" + rows + " seconds=" + round(seconds) + " events_per_s="
                        + round(rows / seconds) + " " + memory
                        + " checkpoint_after_big_tx=" + pipeline.status().checkpoint().isAfter(before));
            }
            System.exit(0);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private void printTable() {
        System.out.println();
        System.out.println("DeltaForge benchmark" + (quick ? " (--quick: a tenth of the sizes)" : ""));
        System.out.println("-".repeat(72));
        results.forEach((k, v) -> {
            if (v instanceof List<?> runs && (k.equals("w1") || k.equals("w1_warmup_runs"))) {
                // One short line per run here; the JSON file has every figure.
                for (Object r : runs) {
                    Map<?, ?> run = (Map<?, ?>) r;
                    System.out.printf(Locale.ROOT, "%-28s run %s: %s events/s, %s CPU-us/event (nats-server %s)%n", k,
                            run.get("run"), run.get("events_per_s"), run.get("cpu_us_per_event"),
                            run.get("nats_server_cpu_us_per_event"));
                }
            } else {
                System.out.printf(Locale.ROOT, "%-28s %s%n", k, v);
            }
        });
        System.out.println("-".repeat(72));
    }

    static Map<String, Object> machine() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("java", System.getProperty("java.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        try {
            m.put("load_avg_1m", Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (Exception ignored) {
            // Not Linux: no load figure.
        }
        return m;
    }

    /** CPU time of every live thread, by thread id. */
    private static Map<Long, Long> threadCpu() {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Map<Long, Long> out = new java.util.HashMap<>();
        for (long id : mx.getAllThreadIds()) {
            long ns = mx.getThreadCpuTime(id);
            if (ns > 0) {
                out.put(id, ns);
            }
        }
        return out;
    }

    /**
     * CPU-µs per event of each Java thread since {@code before} ({@link #threadCpu}), grouped by role:
     * the engine's threads by role ({@code reader}, {@code batcher}, {@code sink-nats}), jnats' threads of
     * the sink's connection ({@code jnats}), and the JVM's own (GC, JIT compiler) by name. A steadier
     * figure than wall time on a shared box, and it shows where the process's CPU goes. Threads that ended
     * in between are not counted.
     */
    private static Map<String, Object> cpuByThread(Map<Long, Long> before, String enginePrefix, long events) {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Map<String, Double> micros = new java.util.TreeMap<>();
        for (java.lang.management.ThreadInfo info : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (info == null) {
                continue;
            }
            String name = info.getThreadName();
            String role;
            if (name.startsWith(enginePrefix)) {
                role = name.substring(enginePrefix.length());
            } else if (name.startsWith("deltaforge-nats")) {
                role = "jnats";
            } else if (name.startsWith("GC ") || name.startsWith("G1 ")) {
                role = "gc";
            } else if (name.contains("Compiler")) {
                role = "jit";
            } else {
                role = "other";
            }
            long ns = mx.getThreadCpuTime(info.getThreadId()) - before.getOrDefault(info.getThreadId(), 0L);
            if (ns > 0) {
                micros.merge(role, ns / 1e3 / events, Double::sum);
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        micros.forEach((k, v) -> out.put(k, round(v)));
        return out;
    }

    private static long gcMillis() {
        long ms = 0;
        for (java.lang.management.GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            ms += Math.max(0, gc.getCollectionTime());
        }
        return ms;
    }

    /**
     * CPU time used so far by this JVM's child processes whose command is {@code name} (the nats-server
     * the test kit started), in ns; 0 where the OS does not say. Shows what the server costs next to the
     * pipeline on the same two cores.
     */
    static long serverCpuNanos(String name) {
        return ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("/" + name) || c.equals(name)).orElse(false))
                .mapToLong(p -> p.info().totalCpuDuration().map(Duration::toNanos).orElse(0L))
                .sum();
    }

    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v[v.length / 2];
    }

    private static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }

    static double round(double d) {
        return Math.round(d * 100) / 100.0;
    }
}
