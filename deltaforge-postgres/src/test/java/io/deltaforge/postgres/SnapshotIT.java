package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import io.deltaforge.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SnapshotIT {
    private static PostgresServer pg;
    private static final AtomicInteger names = new AtomicInteger();

    @BeforeAll
    static void startServer() {
        pg = PostgresServer.start();
        // Settings that would change the text of values; the snapshot's session options must win, as streaming's.
        pg.execute("ALTER DATABASE postgres SET TimeZone = 'Asia/Kolkata';"
                + "ALTER DATABASE postgres SET DateStyle = 'SQL, DMY';"
                + "ALTER DATABASE postgres SET extra_float_digits = 0;"
                + "ALTER DATABASE postgres SET IntervalStyle = 'sql_standard'");
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void snapshotUnderConcurrentWritesPlusStreamReplaysToTheFinalTableState() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, v int NOT NULL, note text)");
        pg.execute("INSERT INTO " + t + " SELECT g, g, 'n' || g FROM generate_series(1, 3000) g");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger writes = new AtomicInteger();
        Thread writer = new Thread(() -> {
            int next = 100_000;
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                while (!stop.get()) {
                    int id = ThreadLocalRandom.current().nextInt(1, 3200);
                    switch (ThreadLocalRandom.current().nextInt(3)) {
                        case 0 -> st.execute("INSERT INTO " + t + " VALUES (" + (next++) + ", 1, 'new')");
                        case 1 -> st.execute("UPDATE " + t + " SET v = v + 1, note = 'u' WHERE id = " + id);
                        default -> st.execute("DELETE FROM " + t + " WHERE id = " + id);
                    }
                    writes.incrementAndGet();
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, "writer");
        writer.start();
        try (PostgresSource source = source(t, SnapshotMode.INITIAL, 25).build()) {
            await(() -> writes.get() > 20);
            source.start();
            int atSnapshotStart = writes.get();
            List<ChangeEvent> events = new ArrayList<>();
            // Keep writing while the snapshot is read, then a little longer.
            pollUntilCompleted(source, events);
            int atSnapshotEnd = writes.get();
            assertThat(atSnapshotEnd).as("writes while the snapshot was read").isGreaterThan(atSnapshotStart);
            await(() -> writes.get() > atSnapshotEnd + 50);
            stop.set(true);
            writer.join();
            pg.execute("INSERT INTO " + t + " VALUES (-1, -1, 'end')");
            pollUntil(source, events, r -> false, true, e -> e.after() != null && Objects.equals(e.after().get("id"), -1L));

            List<ChangeEvent> reads = events.stream().filter(e -> e.op() == Op.READ).toList();
            // The writer deletes rows meanwhile; how many remain to be read depends on the machine's speed.
            assertThat(reads).hasSizeGreaterThan(100);
            assertThat(reads).extracting(ChangeEvent::id).doesNotHaveDuplicates();
            assertThat(reads).extracting(e -> e.after().get("id")).doesNotHaveDuplicates();
            assertThat(events.stream().filter(e -> e.op() != Op.READ).count()).isGreaterThan(50);
            // Read between watermarks while streaming: snapshot rows and changes interleave.
            int firstRead = events.indexOf(reads.get(0));
            int lastRead = events.lastIndexOf(reads.get(reads.size() - 1));
            assertThat(events.subList(firstRead, lastRead)).anyMatch(e -> e.op() != Op.READ);

            Map<Object, Map<String, Object>> replayed = new HashMap<>();
            for (ChangeEvent e : events) {
                if (e.op() == Op.DELETE) {
                    replayed.remove(e.before().get("id"));
                } else {
                    replayed.put(e.after().get("id"), e.after().asMap());
                }
            }
            replayed.remove(-1L);
            Map<Object, Map<String, Object>> actual = new HashMap<>();
            try (Connection c = pg.connect(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT id, v, note FROM " + t + " WHERE id <> -1")) {
                while (rs.next()) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("id", (long) rs.getInt(1));
                    row.put("v", (long) rs.getInt(2));
                    row.put("note", rs.getString(3));
                    actual.put((long) rs.getInt(1), row);
                }
            }
            assertThat(replayed).isEqualTo(actual);
        } finally {
            stop.set(true);
            writer.join();
        }
    }

    @Test
    void aPipelineDeliversTheSnapshotThenStreamsAndTheCompletionIsRecorded() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, v text)");
        pg.execute("INSERT INTO " + t + " SELECT g, 'v' || g FROM generate_series(1, 2500) g");
        List<ChangeEvent> delivered = java.util.Collections.synchronizedList(new ArrayList<>());
        io.deltaforge.spi.Sink sink = new io.deltaforge.spi.Sink() {
            @Override
            public String id() {
                return "collect";
            }

            @Override
            public java.util.concurrent.CompletionStage<Void> send(io.deltaforge.spi.Batch batch) {
                delivered.addAll(batch.events());
                return java.util.concurrent.CompletableFuture.completedFuture(null);
            }
        };
        PostgresSource.Builder builder = source(t, SnapshotMode.INITIAL, 100);
        String slot = builder.build().slot();
        try (io.deltaforge.api.Pipeline pipeline = io.deltaforge.api.Pipeline.builder().name("snap").source(builder.build())
                .sink(sink).envelope(e -> new io.deltaforge.spi.Message(e.id(), Map.of(), "application/json", new byte[0]))
                .build()) {
            pipeline.start();
            await(() -> "t".equals(pg.queryString("SELECT completed_at IS NOT NULL FROM deltaforge.deltaforge_snapshots "
                    + "WHERE slot = '" + slot + "'")));
            assertThat(delivered).hasSize(2500).allMatch(e -> e.op() == Op.READ);
            pg.execute("INSERT INTO " + t + " VALUES (2501, 'after')");
            await(() -> delivered.size() == 2501);
            assertThat(delivered.get(2500).op()).isEqualTo(Op.CREATE);
            assertThat(delivered).extracting(ChangeEvent::id).doesNotHaveDuplicates();
        }
    }

    @Test
    void aValueLooksTheSameViaSnapshotAndViaStreaming() throws Exception {
        pg.execute("DO $$ BEGIN CREATE TYPE snap_mood AS ENUM ('sad', 'happy'); EXCEPTION WHEN duplicate_object "
                + "THEN NULL; END $$");
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, c char(5), ip inet, net cidr, n numeric(12,3),"
                + " ts timestamptz, lt timestamp, d date, tm time, iv interval, m money, b bytea, f4 float4,"
                + " f8 float8, j jsonb, js json, arr int[], tags text[], u uuid, flag bool, mood snap_mood,"
                + " r int4range, bits bit(4), x xml, pt point, nothing text)");
        String values = "'ab', '10.0.0.1', '10.0.0.0/8', 12.5, '2025-01-15 12:30:00.5+02', '2025-01-15 10:30:00.123456',"
                + " '2025-01-15', '10:11:12', '1 day 02:03:04', 12.34, '\\xdeadbeef', 0.1, 1e300,"
                + " '{\"a\": [1, 2.50]}', '{ \"k\" : 1 }', '{1,2,NULL}', '{x,\"y z\"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',"
                + " true, 'happy', '[1,5)', B'1010', '<a>1</a>', '(1.5,2)', NULL";
        pg.execute("INSERT INTO " + t + " VALUES (1, " + values + ")");
        try (PostgresSource source = source(t, SnapshotMode.INITIAL, 10).build()) {
            source.start();
            List<ChangeEvent> events = new ArrayList<>();
            pollUntilCompleted(source, events);
            pg.execute("INSERT INTO " + t + " VALUES (2, " + values + ")");
            pollUntil(source, events, r -> false, true, e -> e.op() == Op.CREATE);
            Row snap = events.get(0).after();
            Row streamed = events.get(events.size() - 1).after();
            assertThat(events.get(0).op()).isEqualTo(Op.READ);
            Map<String, Object> a = new LinkedHashMap<>(snap.asMap());
            Map<String, Object> b = new LinkedHashMap<>(streamed.asMap());
            a.remove("id");
            b.remove("id");
            assertThat(a).isEqualTo(b);
            assertThat(a).containsKey("nothing");
            assertThat(events.get(0).keyColumns()).containsExactly("id");
        }
    }

    /**
     * Column defaults as the catalog prints them, the same for a snapshot read and a streamed change, dates in
     * ISO style whatever the database's (this one's is SQL, DMY); generated columns and columns without a
     * default have none.
     */
    @Test
    void columnTypesCarryTheColumnsDefaults() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, note text NOT NULL DEFAULT 'it''s', "
                + "at timestamptz DEFAULT '2025-01-15 10:30:00+02', made timestamptz DEFAULT now(), n numeric(5,2) "
                + "DEFAULT 1.5, plain int, twice int GENERATED ALWAYS AS (id * 2) STORED)");
        pg.execute("INSERT INTO " + t + " (id) VALUES (1)");
        try (PostgresSource source = source(t, SnapshotMode.INITIAL, 10).build()) {
            source.start();
            List<ChangeEvent> events = new ArrayList<>();
            pollUntilCompleted(source, events);
            pg.execute("INSERT INTO " + t + " (id) VALUES (2)");
            pollUntil(source, events, r -> false, true, e -> e.op() == Op.CREATE);
            Map<String, String> expected = new LinkedHashMap<>();
            expected.put("id", null);
            expected.put("note", "'it''s'::text");
            expected.put("made", "now()");
            expected.put("n", "1.5");
            expected.put("plain", null);
            expected.put("twice", null);
            for (ChangeEvent e : List.of(events.get(0), events.get(events.size() - 1))) {
                Map<String, String> defaults = new LinkedHashMap<>();
                e.columnTypes().forEach(c -> defaults.put(c.name(), c.defaultExpression()));
                // The snapshot reads no generated column; the stream names it (PostgreSQL 18 may send it).
                expected.keySet().stream().filter(defaults::containsKey)
                        .forEach(name -> assertThat(defaults.get(name)).as(e.op() + " " + name)
                                .isEqualTo(expected.get(name)));
                assertThat(defaults).as(e.op().toString()).containsKeys("note", "at", "made", "n");
                // In the JDBC driver's time zone, the JVM's: the same instant either way.
                assertThat(defaults.get("at")).as(e.op() + " at")
                        .matches("'2025-01-15 \\d\\d:\\d\\d:00[+-]\\d\\d(:\\d\\d)?'::timestamp with time zone");
                assertThat(defaults.get("at")).isEqualTo(events.get(0).columnTypes().get(2).defaultExpression());
                assertThat(e.columnTypes().stream().filter(c -> c.name().equals("note")).findFirst().orElseThrow()
                        .optional()).isFalse();
            }
        }
    }

    @Test
    void aSnapshotCutShortResumesWithTheSameIdsOnTheSameSlotAndThenIsNotRepeated() throws Exception {
        String t = table("CREATE TABLE %s (a int, b text, PRIMARY KEY (b, a))");
        pg.execute("INSERT INTO " + t + " SELECT g, 'k' || (g % 7) FROM generate_series(1, 500) g");
        PostgresSource.Builder builder = source(t, SnapshotMode.INITIAL, 50);
        String slot = builder.build().slot();
        Map<Object, String> firstIds = new HashMap<>();
        try (PostgresSource source = builder.build()) {
            source.start();
            int commits = 0;
            while (commits < 4) {
                SourceRecord r = source.poll(Duration.ofSeconds(5));
                if (r instanceof ChangeEvent e) {
                    firstIds.put(e.after().asMap(), e.id());
                } else if (r instanceof TransactionCommit c && c.eventCount() > 0) {
                    commits++;
                    if (commits <= 2) {
                        source.acknowledge(c.endLsn()); // two chunks delivered, two more handed out only
                    }
                }
            }
            source.poll(Duration.ofMillis(200)); // records the acknowledged chunks
        } // closed midway: the snapshot was not delivered
        assertThat(pg.queryString("SELECT completed_at IS NULL FROM deltaforge.deltaforge_snapshots WHERE slot = '" + slot + "'"))
                .isEqualTo("t");
        String snapshotId = pg.queryString("SELECT snapshot_id FROM deltaforge.deltaforge_snapshots WHERE slot = '" + slot + "'");
        assertThat(snapshotId).startsWith(slot + "@");
        String restartLsn = pg.queryString("SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = '"
                + slot + "'");
        assertThat(restartLsn).isNotNull();

        try (PostgresSource source = builder.build()) {
            source.start();
            List<ChangeEvent> events = new ArrayList<>();
            pollUntilCompleted(source, events);
            // Resumed after the two acknowledged chunks: the rest, the two re-sent ones with their first ids.
            assertThat(events).hasSize(400).allMatch(e -> e.op() == Op.READ);
            assertThat(events).extracting(ChangeEvent::id).doesNotHaveDuplicates();
            long resent = events.stream().filter(e -> firstIds.containsKey(e.after().asMap())).count();
            assertThat(resent).isEqualTo(100);
            for (ChangeEvent e : events) {
                String earlier = firstIds.get(e.after().asMap());
                if (earlier != null) {
                    assertThat(e.id()).isEqualTo(earlier);
                }
            }
            assertThat(events.get(0).keyColumns()).containsExactly("b", "a");
            // The same slot and snapshot, not new ones.
            assertThat(pg.queryString("SELECT snapshot_id FROM deltaforge.deltaforge_snapshots WHERE slot = '" + slot + "'"))
                    .isEqualTo(snapshotId);
        }

        try (PostgresSource source = builder.build()) {
            source.start();
            pg.execute("INSERT INTO " + t + " VALUES (9999, 'z')");
            List<ChangeEvent> events = new ArrayList<>();
            // Before PostgreSQL 15 a transaction without published changes arrives as an empty commit.
            pollUntil(source, events, r -> r instanceof TransactionCommit c && c.eventCount() > 0, true);
            assertThat(events).hasSize(1);
            assertThat(events.get(0).op()).isEqualTo(Op.CREATE);
        }
    }

    @Test
    void aServerCrashMidSnapshotFailsRetryablyAndTheNextStartResumesIt() throws Exception {
        String t = table("CREATE TABLE %s (id bigint PRIMARY KEY)");
        pg.execute("INSERT INTO " + t + " SELECT g FROM generate_series(1, 1000) g");
        try (PostgresSource source = source(t, SnapshotMode.INITIAL, 50).build()) {
            source.start();
            int seen = 0;
            while (seen < 100) {
                if (source.poll(Duration.ofSeconds(5)) instanceof ChangeEvent) {
                    seen++;
                }
            }
            String snapshotId = pg.queryString("SELECT snapshot_id FROM deltaforge.deltaforge_snapshots WHERE slot = '"
                    + source.slot() + "'");
            pg.crashServer();
            pg.startServer();
            assertThatThrownBy(() -> {
                while (true) {
                    source.poll(Duration.ofSeconds(5));
                }
            }).isInstanceOf(io.deltaforge.api.RetryableException.class);
            source.start(); // what the engine does after a retryable failure
            List<ChangeEvent> events = new ArrayList<>();
            pollUntilCompleted(source, events);
            // Nothing was acknowledged before the crash: resumed from the first chunk, on the same slot.
            assertThat(events).hasSize(1000).extracting(e -> e.after().get("id")).doesNotHaveDuplicates();
            assertThat(pg.queryString("SELECT snapshot_id FROM deltaforge.deltaforge_snapshots WHERE slot = '" + source.slot()
                    + "'")).isEqualTo(snapshotId);
        }
    }

    @Test
    void alwaysTakesANewSnapshotWhenAnExistingSlotIsStartedAgain() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        pg.execute("INSERT INTO " + t + " SELECT g FROM generate_series(1, 30) g");
        PostgresSource.Builder builder = source(t, SnapshotMode.ALWAYS, 10);
        List<ChangeEvent> first = new ArrayList<>();
        try (PostgresSource source = builder.build()) {
            source.start();
            pollUntilCompleted(source, first);
        }
        assertThat(first).hasSize(30).allMatch(e -> e.op() == Op.READ);
        try (PostgresSource source = builder.build()) {
            source.start();
            List<ChangeEvent> second = new ArrayList<>();
            pollUntil(source, second, r -> false, true, e -> second.size() >= 30);
            assertThat(second).hasSize(30).allMatch(e -> e.op() == Op.READ);
            assertThat(second).extracting(ChangeEvent::id)
                    .doesNotContainAnyElementsOf(first.stream().map(ChangeEvent::id).toList());
            assertThat(pg.queryString("SELECT count(DISTINCT snapshot_id) FROM deltaforge.deltaforge_snapshot_progress "
                    + "WHERE slot = '" + source.slot() + "'")).isEqualTo("2");
        }
    }

    @Test
    void tablesWithoutPrimaryKeyArePagedByCtid() throws Exception {
        String t = table("CREATE TABLE %s (v int, w text)");
        pg.execute("INSERT INTO " + t + " SELECT g % 10, 'same' FROM generate_series(1, 95) g");
        try (PostgresSource source = source(t, SnapshotMode.INITIAL, 10).build()) {
            source.start();
            List<ChangeEvent> events = new ArrayList<>();
            pollUntil(source, events, r -> r instanceof TransactionCommit c && c.xid() == 0, true);
            assertThat(events).hasSize(95).extracting(ChangeEvent::id).doesNotHaveDuplicates();
            assertThat(events.get(0).keyColumns()).isEmpty();
        }
    }

    @Test
    void modeNeverEmitsOnlyChanges() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        pg.execute("INSERT INTO " + t + " VALUES (1), (2)");
        try (PostgresSource source = source(t, SnapshotMode.NEVER, 10).build()) {
            source.start();
            pg.execute("INSERT INTO " + t + " VALUES (3)");
            List<ChangeEvent> events = new ArrayList<>();
            // Before PostgreSQL 15 a transaction without published changes arrives as an empty commit.
            pollUntil(source, events, r -> r instanceof TransactionCommit c && c.eventCount() > 0, true);
            assertThat(events).hasSize(1);
            assertThat(events.get(0).op()).isEqualTo(Op.CREATE);
            assertThat(events.get(0).after().get("id")).isEqualTo(3L);
        }
    }

    @Test
    void initialOnlyEmitsNothingAfterTheSnapshot() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        pg.execute("INSERT INTO " + t + " VALUES (1), (2)");
        try (PostgresSource source = source(t, SnapshotMode.INITIAL_ONLY, 10).build()) {
            source.start();
            List<ChangeEvent> events = new ArrayList<>();
            pollUntil(source, events, r -> r instanceof TransactionCommit, true);
            assertThat(events).hasSize(2);
            pg.execute("INSERT INTO " + t + " VALUES (3)");
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (System.nanoTime() < end) {
                assertThat(source.poll(Duration.ofMillis(200))).isNull();
            }
        }
    }

    @Test
    void anExistingSlotWithoutSnapshotRecordIsRefusedWithAdvice() {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        PostgresSource.Builder builder = source(t, SnapshotMode.INITIAL, 10);
        String slot = builder.build().slot();
        pg.execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        try (PostgresSource source = builder.build()) {
            assertThatThrownBy(source::start).isInstanceOf(DeltaforgeException.class)
                    .hasMessageContaining("pg_drop_replication_slot('" + slot + "')")
                    .hasMessageContaining("snapshot.mode: never");
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    /** Creates a table (the {@code %s} in ddl) and a publication for it; returns the qualified name. */
    private static String table(String ddl) {
        String name = "public.snap_" + names.incrementAndGet();
        pg.execute(String.format(ddl, name));
        pg.execute("CREATE PUBLICATION pub_" + name.substring(7) + " FOR TABLE " + name);
        return name;
    }

    private static PostgresSource.Builder source(String table, SnapshotMode mode, int chunk) {
        String suffix = table.substring(7);
        return PostgresSource.builder().id("snap-" + suffix).dsn(pg.dsn()).slot("slot_" + suffix)
                .publication("pub_" + suffix).tables(List.of(table)).snapshot(mode, chunk);
    }

    /** Polls like the engine until the slot's initial snapshot is recorded as completed. */
    private static void pollUntilCompleted(PostgresSource source, List<ChangeEvent> events) throws InterruptedException {
        long lastCheck = 0;
        while (true) {
            SourceRecord r = source.poll(Duration.ofMillis(100));
            if (r instanceof ChangeEvent e) {
                events.add(e);
                continue;
            }
            if (r instanceof TransactionCommit c) {
                source.acknowledge(c.endLsn());
                continue;
            }
            if (System.nanoTime() - lastCheck > TimeUnit.MILLISECONDS.toNanos(200)) {
                lastCheck = System.nanoTime();
                if ("t".equals(pg.queryString("SELECT completed_at IS NOT NULL FROM deltaforge.deltaforge_snapshots WHERE slot = '"
                        + source.slot() + "'"))) {
                    return;
                }
            }
        }
    }

    private static void pollUntil(PostgresSource source, List<ChangeEvent> events, Predicate<SourceRecord> done,
                                  boolean acknowledge) throws InterruptedException {
        pollUntil(source, events, done, acknowledge, e -> false);
    }

    /** Polls like the engine, acknowledging each commit as delivered, until a record or event matches. */
    private static void pollUntil(PostgresSource source, List<ChangeEvent> events, Predicate<SourceRecord> done,
                                  boolean acknowledge, Predicate<ChangeEvent> doneEvent) throws InterruptedException {
        boolean eventSeen = false;
        while (true) {
            SourceRecord r = source.poll(Duration.ofMillis(500));
            if (r == null) {
                continue;
            }
            if (r instanceof ChangeEvent e) {
                events.add(e);
                eventSeen |= doneEvent.test(e);
            }
            if (r instanceof TransactionCommit c) {
                if (acknowledge) {
                    source.acknowledge(c.endLsn());
                }
                if (eventSeen) {
                    return;
                }
            }
            if (done.test(r)) {
                return;
            }
        }
    }

    private static void await(BooleanSupplier condition) {
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                .until(condition::getAsBoolean);
    }
}
