package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ConfigException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.SnapshotRequest;
import io.deltaforge.api.internal.condition.Condition;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import io.deltaforge.testkit.PostgresServer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 240, unit = TimeUnit.SECONDS)
class IncrementalSnapshotIT {
    private static PostgresServer pg;
    private static final AtomicInteger names = new AtomicInteger();

    @BeforeAll
    static void startServer() {
        pg = PostgresServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void anIncrementalSnapshotUnderConcurrentWritesReplaysToTheFinalTableState() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, v int NOT NULL, note text)");
        pg.execute("INSERT INTO " + t + " SELECT g, g, 'n' || g FROM generate_series(1, 3000) g");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger writes = new AtomicInteger();
        Thread writer = writer(t, stop, writes);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (PostgresSource source = source(t, 50).snapshotParallelism(2, 1).build()) {
            source.bindMetrics(registry, Tags.of("pipeline", "p"));
            source.start();
            writer.start();
            await(() -> writes.get() > 20);
            List<ChangeEvent> events = new ArrayList<>();
            source.requestSnapshot(SnapshotRequest.of(t));
            int atRequest = writes.get();
            pollUntil(source, events, () -> done(source, t));
            assertThat(writes.get()).as("writes while the snapshot was read").isGreaterThan(atRequest + 10);
            stop.set(true);
            writer.join();
            pg.execute("INSERT INTO " + t + " VALUES (-1, -1, 'end')");
            pollUntil(source, events, () -> events.stream().anyMatch(e -> e.after() != null
                    && Objects.equals(e.after().get("id"), -1L)));

            List<ChangeEvent> reads = events.stream().filter(e -> e.op() == Op.READ).toList();
            // The writer deletes rows meanwhile; how many remain to be read depends on the machine's speed.
            assertThat(reads).hasSizeGreaterThan(100);
            assertThat(reads).extracting(ChangeEvent::id).doesNotHaveDuplicates();
            assertThat(reads).extracting(e -> e.after().get("id")).doesNotHaveDuplicates();
            assertThat(reads.get(0).keyColumns()).containsExactly("id");
            // Snapshot rows and streamed changes interleave: the stream kept flowing.
            int firstRead = events.indexOf(reads.get(0));
            int lastRead = events.indexOf(reads.get(reads.size() - 1));
            assertThat(events.subList(firstRead, lastRead).stream().filter(e -> e.op() != Op.READ).count())
                    .isGreaterThan(0);
            assertThat(replay(events)).isEqualTo(tableState(t));
            Gauge rows = registry.find("deltaforge.snapshot.rows").tag("table", t).gauge();
            assertThat(rows).isNotNull();
            assertThat(rows.value()).isGreaterThanOrEqualTo(reads.size());
            assertThat(registry.find("deltaforge.snapshot.rows.estimated").tag("table", t).gauge()).isNotNull();
            assertThat(registry.find("deltaforge.snapshot.tables.remaining").gauge().value()).isZero();
        } finally {
            stop.set(true);
            if (writer.isAlive()) {
                writer.join();
            }
        }
    }

    @Test
    void aColumnAddedDuringTheSnapshotIsInEveryRowDeliveredAfterIt() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, v text)");
        pg.execute("INSERT INTO " + t + " SELECT g, 'v' || g FROM generate_series(1, 600) g");
        try (PostgresSource source = source(t, 40).build()) {
            source.start();
            List<ChangeEvent> events = new ArrayList<>();
            source.requestSnapshot(SnapshotRequest.of(t));
            pollFirstWindow(source, events, 40);
            pg.execute("ALTER TABLE " + t + " ADD COLUMN extra int NOT NULL DEFAULT 7");
            // The insert position: the write position (pg_current_wal_lsn) lags with synchronous_commit off and
            // could fall before the ALTER's commit, counting rows read before it as read after it.
            Lsn altered = Lsn.parse(pg.queryString("SELECT pg_current_wal_insert_lsn()::text"));
            pollUntil(source, events, () -> done(source, t));

            assertThat(events).allMatch(e -> e.op() == Op.READ);
            assertThat(events).extracting(e -> e.after().get("id")).doesNotHaveDuplicates().hasSize(600);
            List<ChangeEvent> after = events.stream()
                    .filter(e -> Long.compareUnsigned(e.position().commitLsn().value(), altered.value()) > 0).toList();
            assertThat(events.size() - after.size()).as("rows delivered before the ALTER").isGreaterThan(0);
            assertThat(after).as("rows delivered after the ALTER").isNotEmpty()
                    .allMatch(e -> Objects.equals(e.after().get("extra"), 7L));
        }
    }

    @Test
    void aColumnDroppedDuringTheSnapshotDoesNotStopIt() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, v text, gone text)");
        pg.execute("INSERT INTO " + t + " SELECT g, 'v' || g, 'x' FROM generate_series(1, 600) g");
        try (PostgresSource source = source(t, 40).build()) {
            source.start();
            List<ChangeEvent> events = new ArrayList<>();
            source.requestSnapshot(SnapshotRequest.of(t));
            pollFirstWindow(source, events, 40);
            pg.execute("ALTER TABLE " + t + " DROP COLUMN gone");
            pollUntil(source, events, () -> done(source, t));

            assertThat(events).extracting(e -> e.after().get("id")).doesNotHaveDuplicates().hasSize(600);
            assertThat(events.subList(40, 600)).allMatch(e -> !e.after().hasColumn("gone"));
        }
    }

    @Test
    void aTableWhoseConditionColumnIsDroppedDuringTheSnapshotEndsWithoutReadingPastTheCondition() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, gone int)");
        pg.execute("INSERT INTO " + t + " SELECT g, g % 2 FROM generate_series(1, 600) g");
        try (PostgresSource source = source(t, 40).build()) {
            source.start();
            List<ChangeEvent> events = new ArrayList<>();
            source.requestSnapshot(new SnapshotRequest(List.of(t), "gone = 0"));
            pollFirstWindow(source, events, 40);
            pg.execute("ALTER TABLE " + t + " DROP COLUMN gone");
            pg.execute("INSERT INTO " + t + " VALUES (1000)");
            pollUntil(source, events, () -> done(source, t) && events.stream().anyMatch(e -> e.op() == Op.CREATE));

            List<ChangeEvent> reads = events.stream().filter(e -> e.op() == Op.READ).toList();
            assertThat(reads).extracting(e -> (Long) e.after().get("id")).doesNotHaveDuplicates()
                    .allMatch(id -> id % 2 == 0);
        }
    }

    @Test
    void aConditionLimitsTheRowsReadComparingLiteralsInEachColumnsType() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, v text, amount numeric(6,2), code varchar(2), "
                + "at timestamptz, u uuid, flag bool, \"Odd \"\"Name\"\"\" int)");
        pg.execute("INSERT INTO " + t + " SELECT g, 'v' || g, g / 4.0, 'c' || (g % 10), timestamptz "
                + "'2026-01-01 00:00:00+00' + g * interval '1 minute', md5(g::text)::uuid, g % 2 = 0, g % 7 "
                + "FROM generate_series(1, 500) g");
        String uuid = pg.queryString("SELECT u FROM " + t + " WHERE id = 333");
        // Each OR branch would match more rows if a literal were cut to the column's length or rounded to
        // its scale ('c2x' to 'c2', 10.004 to 10.00), or if the quote in the string ended it.
        String condition = "flag = TRUE AND at >= '2026-01-01T02:00:00Z' AND amount < 100.5 AND code IN ('c2', 'c4') "
                + "AND NOT id BETWEEN 150 AND 199 AND \"Odd \"\"Name\"\"\" <> 3 AND v IS NOT NULL"
                + " OR code = 'c2x' OR amount = 10.004 OR v = 'v1'' OR ''a'' = ''a' OR u = '" + uuid + "'";
        String sql = "flag AND at >= '2026-01-01T02:00:00Z' AND amount < 100.5 AND code IN ('c2', 'c4') "
                + "AND id NOT BETWEEN 150 AND 199 AND \"Odd \"\"Name\"\"\" <> 3 OR id = 333";
        List<Long> expected = new ArrayList<>();
        try (Connection c = pg.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM " + t + " WHERE " + sql + " ORDER BY id")) {
            while (rs.next()) {
                expected.add(rs.getLong(1));
            }
        }
        assertThat(expected).hasSizeGreaterThan(20);
        try (PostgresSource source = source(t, 40).build()) {
            source.start();
            List<ChangeEvent> events = new ArrayList<>();
            source.requestSnapshot(new SnapshotRequest(List.of(t), condition));
            pollUntil(source, events, () -> done(source, t));
            assertThat(events).allMatch(e -> e.op() == Op.READ)
                    .extracting(e -> (Long) e.after().get("id")).containsExactlyElementsOf(expected);
            // Stored as grammar text, not SQL: a resumed request is parsed and checked again.
            assertThat(progress(source, "condition")).isEqualTo(Condition.parse(condition).canonical());
        }
    }

    @Test
    void aSignalMessageStartsASnapshotOnce() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        pg.execute("INSERT INTO " + t + " SELECT g FROM generate_series(1, 120) g");
        PostgresSource.Builder builder = source(t, 50);
        try (PostgresSource source = builder.build()) {
            source.start();
            List<ChangeEvent> events = new ArrayList<>();
            pg.execute("SELECT pg_logical_emit_message(true, 'deltaforge.signal', '{\"type\":\"snapshot\",\"slot\":\""
                    + source.slot() + "\",\"tables\":[\"" + t + "\"]}')");
            pollUntil(source, events, () -> done(source, t));
            assertThat(events).hasSize(120).allMatch(e -> e.op() == Op.READ);
        }
        // A signal for another slot is not acted on.
        pg.execute("SELECT pg_logical_emit_message(true, 'deltaforge.signal', '{\"type\":\"snapshot\",\"slot\":"
                + "\"other\",\"tables\":[\"" + t + "\"]}')");
        pg.execute("INSERT INTO " + t + " VALUES (1000)");
        try (PostgresSource source = builder.build()) {
            source.start();
            List<ChangeEvent> events = new ArrayList<>();
            pollUntil(source, events, () -> !events.isEmpty());
            assertThat(events).hasSize(1);
            assertThat(events.get(0).op()).isEqualTo(Op.CREATE);
            assertThat(pg.queryString("SELECT count(DISTINCT snapshot_id) FROM deltaforge.deltaforge_snapshot_progress WHERE "
                    + "slot = '" + source.slot() + "'")).isEqualTo("1");
        }
    }

    @Test
    void aSignalWithAConditionOutsideTheGrammarStoresAndRunsNothing() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, v text)");
        pg.execute("INSERT INTO " + t + " SELECT g, 'v' || g FROM generate_series(1, 300) g");
        try (PostgresSource source = source(t, 50).build()) {
            source.start();
            for (String bad : List.of("id > 0) OR (SELECT count(*) FROM pg_authid) > 0 --", "id > 0; DROP TABLE " + t,
                    "id > 0 OR pg_sleep(5) IS NULL", "v = $$x$$", "v::int > 1", "no_such > 1", "id = 'x'")) {
                signal(source, t, bad);
            }
            // Requests run oldest first: had a bad one been taken, its rows would come with or before these.
            signal(source, t, "id IN (7, 8) OR v = 'v299'");
            List<ChangeEvent> events = new ArrayList<>();
            pollUntil(source, events, () -> done(source, t));
            assertThat(events).extracting(e -> e.after().get("id")).containsExactly(7L, 8L, 299L);
            assertThat(progress(source, "count(*)")).isEqualTo("1");
            assertThat(pg.queryString("SELECT count(*) FROM " + t)).isEqualTo("300");
        }
    }

    private static void signal(PostgresSource source, String table, String condition) throws Exception {
        String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(Map.of("type", "snapshot",
                "slot", source.slot(), "tables", List.of(table), "condition", condition));
        try (Connection c = pg.connect();
             java.sql.PreparedStatement ps = c.prepareStatement(
                     "SELECT pg_logical_emit_message(true, 'deltaforge.signal', ?)")) {
            c.setAutoCommit(true);
            ps.setString(1, json);
            ps.execute();
        }
    }

    @Test
    void aStoredConditionIsParsedAgainOnLoadAndSqlInItsPlaceRunsNothing() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        pg.execute("INSERT INTO " + t + " SELECT g FROM generate_series(1, 50) g");
        try (PostgresSource source = source(t, 20).build()) {
            source.start();
            source.requestSnapshot(new SnapshotRequest(List.of(t), "id > 10"));
            // Not polled yet, so not loaded: written by someone who may write the progress table.
            pg.execute("UPDATE deltaforge.deltaforge_snapshot_progress SET condition = 'id > 10 OR (SELECT true)' "
                    + "WHERE slot = '" + source.slot() + "'");
            List<ChangeEvent> events = new ArrayList<>();
            pollUntil(source, events, () -> done(source, t));
            assertThat(events).isEmpty();
        }
    }

    @Test
    void badRequestsAreRefusedWithAdviceAndStreamingContinues() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, doc json, at timestamptz)");
        String keyless = "public.snapk_" + names.incrementAndGet();
        pg.execute("CREATE TABLE " + keyless + " (v int)");
        String suffix = t.substring(7);
        pg.execute("ALTER PUBLICATION pub_" + suffix + " ADD TABLE " + keyless);
        try (PostgresSource source = PostgresSource.builder().id("inc-" + suffix).dsn(pg.dsn()).slot("slot_" + suffix)
                .publication("pub_" + suffix).build()) {
            source.start();
            assertThatThrownBy(() -> source.requestSnapshot(SnapshotRequest.of("public.no_such_table")))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("tables[0]")
                    .hasMessageContaining("not captured");
            assertThatThrownBy(() -> source.requestSnapshot(SnapshotRequest.of(keyless)))
                    .isInstanceOf(ConfigException.class).hasMessageContaining(keyless)
                    .hasMessageContaining("ADD PRIMARY KEY");
            assertThatThrownBy(() -> source.requestSnapshot(new SnapshotRequest(List.of(t), "no_such_column > 1")))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("condition: at position 1")
                    .hasMessageContaining("has no column no_such_column (its columns: id, doc, at)");
            assertThatThrownBy(() -> source.requestSnapshot(new SnapshotRequest(List.of(t), "id = 'seven'")))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("cannot filter table " + t)
                    .hasMessageContaining("invalid input syntax for type integer");
            assertThatThrownBy(() -> source.requestSnapshot(new SnapshotRequest(List.of(t), "at > 'last tuesday'")))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("invalid input syntax for type timestamp with time zone");
            assertThatThrownBy(() -> source.requestSnapshot(new SnapshotRequest(List.of(t), "doc = '{}'")))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("operator does not exist: json = json");
            assertThatThrownBy(() -> new SnapshotRequest(List.of(t), "id > 0 OR pg_sleep(5) IS NULL"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("condition at position 11: function calls such as pg_sleep");
            pg.execute("SELECT pg_logical_emit_message(true, 'deltaforge.signal', 'not json')");
            pg.execute("INSERT INTO " + t + " VALUES (7)");
            List<ChangeEvent> events = new ArrayList<>();
            pollUntil(source, events, () -> !events.isEmpty());
            assertThat(events).hasSize(1);
            assertThat(events.get(0).op()).isEqualTo(Op.CREATE);
            assertThat(events.get(0).after().get("id")).isEqualTo(7L);
        }
    }

    @Test
    void aRestartResumesAfterTheLastAcknowledgedChunkWithTheSameIds() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        pg.execute("INSERT INTO " + t + " SELECT g FROM generate_series(1, 1000) g");
        PostgresSource.Builder builder = source(t, 100);
        Map<Object, String> firstIds = new HashMap<>();
        try (PostgresSource source = builder.build()) {
            source.start();
            source.requestSnapshot(SnapshotRequest.of(t));
            // Acknowledge the first three chunks only, then hand out more without acknowledging it.
            int commits = 0;
            while (commits < 5) {
                SourceRecord r = source.poll(Duration.ofMillis(500));
                if (r instanceof ChangeEvent e) {
                    firstIds.put(e.after().get("id"), e.id());
                } else if (r instanceof TransactionCommit c && c.eventCount() > 0) {
                    commits++;
                    if (commits <= 3) {
                        source.acknowledge(c.endLsn());
                    }
                }
            }
            source.poll(Duration.ofMillis(100)); // records the acknowledged progress
            await(() -> "300".equals(pg.queryString("SELECT rows_done FROM deltaforge.deltaforge_snapshot_progress WHERE slot = '"
                    + source.slot() + "'")));
        }
        try (PostgresSource source = builder.build()) {
            source.start();
            List<ChangeEvent> events = new ArrayList<>();
            pollUntil(source, events, () -> done(source, t));
            assertThat(events).hasSize(700).allMatch(e -> e.op() == Op.READ)
                    .extracting(e -> e.after().get("id")).doesNotHaveDuplicates();
            assertThat(events.stream().map(e -> (Long) e.after().get("id")).min(Long::compare)).contains(301L);
            for (ChangeEvent e : events) {
                String earlier = firstIds.get(e.after().get("id"));
                if (earlier != null) {
                    assertThat(e.id()).as("same id for a re-sent row").isEqualTo(earlier);
                }
            }
            assertThat(events).anyMatch(e -> firstIds.containsKey(e.after().get("id")));
        }
    }

    @Test
    void aRestartResumesARequestWithItsStoredCondition() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        pg.execute("INSERT INTO " + t + " SELECT g FROM generate_series(1, 1000) g");
        PostgresSource.Builder builder = source(t, 100);
        try (PostgresSource source = builder.build()) {
            source.start();
            source.requestSnapshot(new SnapshotRequest(List.of(t), "ID>200 and id not in (500,600)"));
            // Acknowledge the first two chunks only, then hand out more without acknowledging it.
            int commits = 0;
            while (commits < 4) {
                SourceRecord r = source.poll(Duration.ofMillis(500));
                if (r instanceof TransactionCommit c && c.eventCount() > 0) {
                    commits++;
                    if (commits <= 2) {
                        source.acknowledge(c.endLsn());
                    }
                }
            }
            source.poll(Duration.ofMillis(100)); // records the acknowledged progress
            await(() -> "200".equals(progress(source, "rows_done")));
            assertThat(progress(source, "condition")).isEqualTo("id > 200 AND id NOT IN (500, 600)");
        }
        try (PostgresSource source = builder.build()) {
            source.start();
            List<ChangeEvent> events = new ArrayList<>();
            pollUntil(source, events, () -> done(source, t));
            List<Long> expected = new ArrayList<>();
            for (long id = 401; id <= 1000; id++) {
                if (id != 500 && id != 600) {
                    expected.add(id);
                }
            }
            assertThat(events).allMatch(e -> e.op() == Op.READ).extracting(e -> (Long) e.after().get("id"))
                    .containsExactlyElementsOf(expected);
        }
    }

    /**
     * A transaction whose commit record is in the WAL (and streamed) but that is not yet visible, as one waiting
     * for a synchronous standby: a chunk read meanwhile holds the old row, and must not be emitted after the
     * streamed change.
     */
    @Test
    void aChunkReadWhileAStreamedTransactionIsStillInvisibleDoesNotOverwriteItsChange() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, v int NOT NULL, note text)");
        pg.execute("INSERT INTO " + t + " SELECT g, g, 'n' || g FROM generate_series(1, 2000) g");
        Thread writer = null;
        try (PostgresSource source = source(t, 50).build()) {
            source.start();
            source.requestSnapshot(SnapshotRequest.of(t));
            List<ChangeEvent> events = new ArrayList<>();
            // Only as far as the first snapshot row: the reader (and the snapshot) moves only when polled.
            while (events.isEmpty()) {
                SourceRecord r = source.poll(Duration.ofMillis(100));
                if (r instanceof ChangeEvent e) {
                    events.add(e);
                } else if (r instanceof TransactionCommit c) {
                    source.acknowledge(c.endLsn());
                }
            }
            assertThat(events.get(0).after().get("id")).isEqualTo(1L);
            // Commits now wait for a standby that never comes: written to the WAL, decoded, not yet visible.
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                c.setAutoCommit(true);
                st.execute("ALTER SYSTEM SET synchronous_standby_names = 'ghost'");
                st.execute("SELECT pg_reload_conf()");
            }
            Thread.sleep(300);
            writer = new Thread(() -> {
                try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                    st.execute("SET synchronous_commit = on");
                    st.execute("UPDATE " + t + " SET v = -999, note = 'late' WHERE id = 1900");
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }, "hung-writer");
            writer.start();
            pollUntil(source, events, () -> events.stream().anyMatch(e -> e.op() == Op.UPDATE));
            assertThat(pg.queryString("SELECT v FROM " + t + " WHERE id = 1900")).as("not yet visible").isEqualTo("1900");
            pollUntil(source, events, () -> done(source, t));
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                c.setAutoCommit(true);
                st.execute("ALTER SYSTEM RESET synchronous_standby_names");
                st.execute("SELECT pg_reload_conf()");
            }
            writer.join();
            pg.execute("INSERT INTO " + t + " VALUES (-1, -1, 'end')");
            pollUntil(source, events, () -> events.stream().anyMatch(e -> e.after() != null
                    && Objects.equals(e.after().get("id"), -1L)));
            int update = -1;
            int read = -1;
            for (int i = 0; i < events.size(); i++) {
                ChangeEvent e = events.get(i);
                if (e.after() != null && Objects.equals(e.after().get("id"), 1900L)) {
                    update = e.op() == Op.UPDATE ? i : update;
                    read = e.op() == Op.READ ? i : read;
                }
            }
            // The chunk holding row 1900 was read while the update was streamed but invisible: dropped.
            assertThat(update).isNotNegative();
            assertThat(read).as("no stale snapshot row after the update").isLessThan(update);
            assertThat(replay(events).get(1900L)).containsEntry("v", -999L);
            assertThat(replay(events)).isEqualTo(tableState(t));
        } finally {
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                c.setAutoCommit(true);
                st.execute("ALTER SYSTEM RESET synchronous_standby_names");
                st.execute("SELECT pg_reload_conf()");
            }
            if (writer != null) {
                writer.join();
            }
        }
    }

    @Test
    void parallelChunksAndTablesReadEveryRowOnceAndShareWindows() throws Exception {
        String a = table("CREATE TABLE %s (id int PRIMARY KEY, v text)");
        String b = "public.incb_" + names.incrementAndGet();
        pg.execute("CREATE TABLE " + b + " (k text, n int, v text, PRIMARY KEY (k, n))");
        String suffix = a.substring(7);
        pg.execute("ALTER PUBLICATION pub_" + suffix + " ADD TABLE " + b);
        pg.execute("INSERT INTO " + a + " SELECT g, 'a' || g FROM generate_series(1, 1234) g");
        pg.execute("INSERT INTO " + b + " SELECT 'k' || (g % 13), g, 'b' || g FROM generate_series(1, 777) g");
        try (PostgresSource source = PostgresSource.builder().id("inc-" + suffix).dsn(pg.dsn()).slot("slot_" + suffix)
                .publication("pub_" + suffix).snapshot(SnapshotMode.NEVER, 40).snapshotParallelism(3, 2).build()) {
            source.start();
            source.requestSnapshot(SnapshotRequest.of(a, b));
            List<ChangeEvent> events = new ArrayList<>();
            pollUntil(source, events, () -> done(source, a) && done(source, b));
            List<ChangeEvent> ofA = events.stream().filter(e -> e.table().toString().equals(a)).toList();
            List<ChangeEvent> ofB = events.stream().filter(e -> e.table().toString().equals(b)).toList();
            assertThat(ofA).hasSize(1234).extracting(e -> e.after().get("id")).doesNotHaveDuplicates();
            assertThat(ofB).hasSize(777).extracting(e -> e.after().get("n")).doesNotHaveDuplicates();
            assertThat(ofB.get(0).keyColumns()).containsExactly("k", "n");
            // Both tables progressed from the first window on.
            assertThat(events.get(0).position().commitLsn()).isEqualTo(ofB.get(0).position().commitLsn());
            assertThat(events).extracting(ChangeEvent::id).doesNotHaveDuplicates();
        }
    }

    @Test
    void anExclusiveLockRequestedDuringAParallelWindowDoesNotDeadlockWithIt() throws Exception {
        // Every chunk query (and chunk boundary lookup) takes 0.3 s, so the window's lead connection holds its
        // ACCESS SHARE lock for a while before the other chunks are read on their own connections: the
        // condition uses an '=' that matches every row and sleeps on one row of each 100.
        String pace = "pace_" + names.incrementAndGet();
        pg.execute("CREATE TYPE " + pace + " AS ENUM ('fast', 'slow')");
        pg.execute("CREATE FUNCTION " + pace + "_eq(a " + pace + ", b " + pace + ") RETURNS bool LANGUAGE sql "
                + "VOLATILE AS 'SELECT CASE WHEN a::text = ''slow'' THEN (SELECT true FROM pg_sleep(0.3)) ELSE true END'");
        pg.execute("CREATE OPERATOR public.= (LEFTARG = " + pace + ", RIGHTARG = " + pace + ", FUNCTION = " + pace
                + "_eq)");
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, v int NOT NULL, note text, pace " + pace + ")");
        pg.execute("INSERT INTO " + t + " SELECT g, g, 'n' || g, CASE WHEN g % 100 = 1 THEN 'slow' ELSE 'fast' END::"
                + pace + " FROM generate_series(1, 300) g");
        List<ChangeEvent> events = new ArrayList<>();
        AtomicInteger restarts = new AtomicInteger();
        AtomicBoolean finished = new AtomicBoolean();
        try (PostgresSource source = source(t, 100).snapshotParallelism(3, 1).build()) {
            source.start();
            source.requestSnapshot(new SnapshotRequest(List.of(t), "pace = 'fast'"));
            Thread reader = new Thread(() -> {
                while (!finished.get()) {
                    try {
                        SourceRecord r = source.poll(Duration.ofMillis(100));
                        if (r instanceof ChangeEvent e) {
                            synchronized (events) {
                                events.add(e);
                            }
                        } else if (r instanceof TransactionCommit c) {
                            source.acknowledge(c.endLsn());
                        }
                    } catch (RetryableException e) {
                        restarts.incrementAndGet(); // as the engine does: start again, resume after the last ack
                        source.start();
                    } catch (InterruptedException | RuntimeException e) {
                        return;
                    }
                }
            }, "reader");
            reader.start();
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                // The lead looks up a chunk boundary (OFFSET): it holds ACCESS SHARE for the whole window.
                await(() -> "t".equals(pg.queryString("SELECT count(*) > 0 FROM pg_locks l JOIN pg_stat_activity a "
                        + "ON a.pid = l.pid WHERE l.relation = '" + t + "'::regclass AND l.granted "
                        + "AND a.query LIKE '%OFFSET%'")));
                c.setAutoCommit(false);
                st.execute("SET LOCAL lock_timeout = '20s'");
                long started = System.nanoTime();
                // Queued behind the lead; the other chunks' reads queue behind it. Without a way out, the lead
                // waits for them forever and this lock request for its timeout.
                st.execute("LOCK TABLE " + t + " IN ACCESS EXCLUSIVE MODE");
                long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                c.commit();
                assertThat(waitedMillis).as("the exclusive lock came once the window gave up").isLessThan(10_000);
            }
            await(() -> done(source, t));
            finished.set(true);
            reader.join(10_000);
            assertThat(restarts.get()).as("the deadlocked window failed its session").isPositive();
            synchronized (events) {
                assertThat(events).filteredOn(e -> e.op() == Op.READ).extracting(e -> e.after().get("id"))
                        .doesNotHaveDuplicates().hasSize(300);
            }
        } finally {
            finished.set(true); // before the source closes under the reader
        }
    }

    @Test
    void aUserWhoMayNotWriteWatermarksIsToldTheGrant() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        String suffix = t.substring(7);
        String user = "nomsg_" + suffix;
        pg.execute("CREATE ROLE " + user + " LOGIN REPLICATION PASSWORD 'pw'");
        pg.execute("GRANT SELECT ON " + t + " TO " + user);
        String function = pg.queryString("SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.proname = "
                + "'pg_logical_emit_message' AND p.proargtypes[2] = 'text'::regtype");
        pg.execute("REVOKE EXECUTE ON FUNCTION " + function + " FROM PUBLIC");
        String dsn = "postgres://" + user + ":pw@" + pg.host() + ":" + pg.port() + "/" + pg.database();
        try (PostgresSource source = PostgresSource.builder().id("inc-" + suffix).dsn(dsn).slot("slot_" + suffix)
                .publication("pub_" + suffix).tables(List.of(t)).build()) {
            assertThatThrownBy(() -> source.requestSnapshot(SnapshotRequest.of(t)))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("GRANT EXECUTE ON FUNCTION " + function + " TO \"" + user + "\"");
        } finally {
            pg.execute("GRANT EXECUTE ON FUNCTION " + function + " TO PUBLIC");
        }
    }

    @Test
    void aReplicationUserWithoutSuperuserCanTakeSnapshots() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        pg.execute("INSERT INTO " + t + " SELECT g FROM generate_series(1, 30) g");
        String suffix = t.substring(7);
        String user = "rep_" + suffix;
        pg.execute("CREATE ROLE " + user + " LOGIN REPLICATION PASSWORD 'pw'");
        pg.execute("GRANT SELECT ON " + t + " TO " + user);
        // The progress table exists (earlier tests made it) and belongs to postgres: the user needs to write it.
        pg.execute("CREATE SCHEMA IF NOT EXISTS deltaforge");
        pg.execute("GRANT USAGE ON SCHEMA deltaforge TO " + user);
        pg.execute("CREATE TABLE IF NOT EXISTS deltaforge.deltaforge_snapshot_progress (slot text NOT NULL, snapshot_id "
                + "text NOT NULL, ordinal int NOT NULL, schema_name text NOT NULL, table_name text NOT NULL, condition "
                + "text, last_key text[], rows_done bigint NOT NULL DEFAULT 0, state text NOT NULL DEFAULT 'pending', "
                + "requested_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(), "
                + "PRIMARY KEY (slot, snapshot_id, schema_name, table_name))");
        pg.execute("GRANT SELECT, INSERT, UPDATE ON deltaforge.deltaforge_snapshot_progress TO " + user);
        String dsn = "postgres://" + user + ":pw@" + pg.host() + ":" + pg.port() + "/" + pg.database();
        try (PostgresSource source = PostgresSource.builder().id("inc-" + suffix).dsn(dsn).slot("slot_" + suffix)
                .publication("pub_" + suffix).tables(List.of(t)).build()) {
            source.start();
            source.requestSnapshot(SnapshotRequest.of(t));
            List<ChangeEvent> events = new ArrayList<>();
            pollUntil(source, events, () -> done(source, t));
            assertThat(events).hasSize(30).allMatch(e -> e.op() == Op.READ);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    static Thread writer(String t, AtomicBoolean stop, AtomicInteger writes) {
        return new Thread(() -> {
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
    }

    static Map<Object, Map<String, Object>> replay(List<ChangeEvent> events) {
        Map<Object, Map<String, Object>> replayed = new HashMap<>();
        for (ChangeEvent e : events) {
            if (e.op() == Op.DELETE) {
                replayed.remove(e.before().get("id"));
            } else {
                replayed.put(e.after().get("id"), e.after().asMap());
            }
        }
        replayed.remove(-1L);
        return replayed;
    }

    static Map<Object, Map<String, Object>> tableState(String t) throws Exception {
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
        return actual;
    }

    /** {@code column} (or an aggregate) of the source's rows in the progress table. */
    private static String progress(PostgresSource source, String column) {
        return pg.queryString("SELECT " + column + " FROM deltaforge.deltaforge_snapshot_progress WHERE slot = '"
                + source.slot() + "'");
    }

    private static boolean done(PostgresSource source, String table) {
        String[] parts = table.split("\\.");
        return "done".equals(pg.queryString("SELECT string_agg(DISTINCT state, ',') FROM deltaforge.deltaforge_snapshot_progress "
                + "WHERE slot = '" + source.slot() + "' AND schema_name = '" + parts[0] + "' AND table_name = '"
                + parts[1] + "'"));
    }

    /** Creates a table (the {@code %s} in ddl) and a publication for it; returns the qualified name. */
    static String table(String ddl) {
        String name = "public.inc_" + names.incrementAndGet();
        pg.execute(String.format(ddl, name));
        pg.execute("CREATE PUBLICATION pub_" + name.substring(7) + " FOR TABLE " + name);
        return name;
    }

    static PostgresSource.Builder source(String table, int chunk) {
        String suffix = table.substring(7);
        return PostgresSource.builder().id("inc-" + suffix).dsn(pg.dsn()).slot("slot_" + suffix)
                .publication("pub_" + suffix).tables(List.of(table)).snapshot(SnapshotMode.NEVER, chunk);
    }

    /**
     * Polls like the engine, acknowledging each commit as delivered, until {@code done} holds (checked at
     * commits and when idle).
     */
    static void pollUntil(PostgresSource source, List<ChangeEvent> events, BooleanSupplier done)
            throws InterruptedException {
        long lastCheck = 0;
        while (true) {
            SourceRecord r = source.poll(Duration.ofMillis(100));
            if (r instanceof ChangeEvent e) {
                events.add(e);
                continue;
            }
            if (r instanceof TransactionCommit c) {
                source.acknowledge(c.endLsn());
            }
            if (System.nanoTime() - lastCheck > TimeUnit.MILLISECONDS.toNanos(200)) {
                // Drain what is ready first, so that the state checked belongs to what was polled.
                SourceRecord more = source.poll(Duration.ofMillis(50));
                if (more != null) {
                    if (more instanceof ChangeEvent e) {
                        events.add(e);
                    } else if (more instanceof TransactionCommit c) {
                        source.acknowledge(c.endLsn());
                    }
                    continue;
                }
                lastCheck = System.nanoTime();
                if (done.getAsBoolean()) {
                    return;
                }
            }
        }
    }

    /** Polls the first window's {@code rows} rows; no further window opens until the source is polled again. */
    static void pollFirstWindow(PostgresSource source, List<ChangeEvent> events, int rows) throws InterruptedException {
        while (events.size() < rows) {
            if (source.poll(Duration.ofMillis(100)) instanceof ChangeEvent e) {
                events.add(e);
            }
        }
    }

    static void await(BooleanSupplier condition) throws InterruptedException {
        while (!condition.getAsBoolean()) {
            Thread.sleep(20);
        }
    }
}
