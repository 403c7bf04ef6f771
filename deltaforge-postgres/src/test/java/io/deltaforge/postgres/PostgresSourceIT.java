package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Heartbeat;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import io.deltaforge.testkit.PostgresServer;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PostgresSourceIT {
    private static PostgresServer pg;
    private static final AtomicInteger names = new AtomicInteger();

    @BeforeAll
    static void startServer() {
        pg = PostgresServer.start();
        // Settings that would change pgoutput's text output; the source's session options must win.
        pg.execute("ALTER DATABASE postgres SET TimeZone = 'Asia/Kolkata';"
                + "ALTER DATABASE postgres SET DateStyle = 'SQL, DMY';"
                + "ALTER DATABASE postgres SET extra_float_digits = 0");
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    @Timeout(60)
    void insertUpdateDeleteArriveInOrderWithTransactionCommits() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, name text, created_at timestamptz, local_at timestamp,"
                + " day date, amount numeric(12,3), doc jsonb, flag bool, score float8, ratio float4, big bigint,"
                + " blob bytea, tags text[], uid uuid)");
        try (PostgresSource source = source(t).build()) {
            source.start();
            pg.execute("INSERT INTO " + t + " VALUES (1, 'Alice', '2025-01-15 12:30:00+02', '2025-01-15 10:30:00.123456',"
                    + " '2025-01-15', 12.5, '{\"a\": [1, 2]}', true, 'NaN', 0.1, 9007199254740993, '\\xdeadbeef',"
                    + " '{x,\"y z\",NULL}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')");
            pg.execute("UPDATE " + t + " SET name = 'Alicia' WHERE id = 1");
            pg.execute("DELETE FROM " + t + " WHERE id = 1");

            List<SourceRecord> records = pollCommits(source, 3);
            List<SourceRecord> data = records.stream().filter(r -> !(r instanceof Heartbeat)).toList();
            assertThat(data).hasSize(6);
            ChangeEvent insert = (ChangeEvent) data.get(0);
            TransactionCommit c1 = (TransactionCommit) data.get(1);
            ChangeEvent update = (ChangeEvent) data.get(2);
            TransactionCommit c2 = (TransactionCommit) data.get(3);
            ChangeEvent delete = (ChangeEvent) data.get(4);
            TransactionCommit c3 = (TransactionCommit) data.get(5);

            assertThat(insert.op()).isEqualTo(Op.CREATE);
            assertThat(insert.table()).isEqualTo(TableId.parse(t));
            assertThat(insert.before()).isNull();
            assertThat(insert.after().asMap())
                    .containsEntry("id", 1L)
                    .containsEntry("name", "Alice")
                    .containsEntry("created_at", "2025-01-15T10:30:00.000Z")
                    .containsEntry("local_at", "2025-01-15T10:30:00.123456")
                    .containsEntry("day", "2025-01-15")
                    .containsEntry("amount", new BigDecimal("12.500"))
                    .containsEntry("doc", new RawJson("{\"a\": [1, 2]}"))
                    .containsEntry("flag", true)
                    .containsEntry("score", "NaN")
                    .containsEntry("big", 9007199254740993L)
                    .containsEntry("blob", "3q2+7w==")
                    .containsEntry("uid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
            assertThat(insert.after().get("tags")).isEqualTo(java.util.Arrays.asList("x", "y z", null));
            assertThat((Double) insert.after().get("ratio")).isCloseTo(0.1, org.assertj.core.data.Offset.offset(1e-6));
            assertThat(insert.position().indexInTx()).isZero();
            assertThat(insert.position().commitLsn()).isEqualTo(c1.commitLsn());
            assertThat(c1.eventCount()).isEqualTo(1);
            assertThat(c1.endLsn()).isGreaterThan(c1.commitLsn());
            assertThat(insert.position().commitTime()).isEqualTo(c1.commitTime());

            assertThat(update.op()).isEqualTo(Op.UPDATE);
            assertThat(update.before()).isNull(); // default replica identity, key unchanged
            assertThat(update.after().get("name")).isEqualTo("Alicia");
            assertThat(c2.commitLsn()).isGreaterThan(c1.commitLsn());

            assertThat(delete.op()).isEqualTo(Op.DELETE);
            assertThat(delete.after()).isNull();
            assertThat(delete.before().asMap()).containsOnlyKeys("id").containsEntry("id", 1L);
            assertThat(c3.eventCount()).isEqualTo(1);
            assertThat(List.of(insert.id(), update.id(), delete.id())).doesNotHaveDuplicates();
        }
    }

    @Test
    void multiTableTransactionStaysTogetherAndFilteredTablesCountOnlyTowardTheCommit() throws Exception {
        String a = table("CREATE TABLE %s (id int PRIMARY KEY)");
        String b = table("CREATE TABLE %s (id int PRIMARY KEY, v text)");
        String c = table("CREATE TABLE %s (id int PRIMARY KEY)");
        String pub = "pub_" + names.incrementAndGet();
        pg.execute("CREATE PUBLICATION " + pub + " FOR TABLE " + a + ", " + b + ", " + c);
        try (PostgresSource source = builder(pub).tables(List.of(a, b)).build()) {
            source.start();
            pg.execute("BEGIN; INSERT INTO " + a + " VALUES (1); INSERT INTO " + c + " VALUES (1);"
                    + " INSERT INTO " + b + " VALUES (1, 'x'); INSERT INTO " + a + " VALUES (2); COMMIT");
            pg.execute("INSERT INTO " + c + " VALUES (2)");
            List<SourceRecord> data = pollCommits(source, 2).stream().filter(r -> !(r instanceof Heartbeat)).toList();
            assertThat(data).hasSize(5);
            assertThat(data.subList(0, 3)).allMatch(r -> r instanceof ChangeEvent);
            List<ChangeEvent> events = data.subList(0, 3).stream().map(ChangeEvent.class::cast).toList();
            assertThat(events).extracting(e -> e.table().toString()).containsExactly(a, b, a);
            assertThat(events).extracting(e -> e.position().indexInTx()).containsExactly(0, 2, 3);
            assertThat(((TransactionCommit) data.get(3)).eventCount()).isEqualTo(3);
            // A transaction that touched only filtered tables still closes with a commit.
            assertThat(((TransactionCommit) data.get(4)).eventCount()).isZero();
        }
    }

    @Test
    void restartResumesAfterTheAcknowledgedTransactionOnly() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        PostgresSource.Builder builder = source(t);
        List<SourceRecord> first;
        try (PostgresSource source = builder.build()) {
            source.start();
            pg.execute("INSERT INTO " + t + " VALUES (1)");
            pg.execute("INSERT INTO " + t + " VALUES (2)");
            first = data(pollCommits(source, 2));
            source.acknowledge(((TransactionCommit) first.get(1)).endLsn());
        }
        String slot = builder.build().slot();
        awaitSlotInactive(slot);
        assertThat(Lsn.parse(pg.queryString("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '"
                + slot + "'"))).isEqualTo(((TransactionCommit) first.get(1)).endLsn());

        try (PostgresSource source = builder.build()) {
            source.start();
            pg.execute("INSERT INTO " + t + " VALUES (3)");
            List<SourceRecord> second = data(pollCommits(source, 2));
            ChangeEvent replayed = (ChangeEvent) second.get(0);
            assertThat(replayed.after().get("id")).isEqualTo(2L);
            assertThat(replayed.id()).isEqualTo(((ChangeEvent) first.get(2)).id());
            assertThat(((ChangeEvent) second.get(2)).after().get("id")).isEqualTo(3L);
        }
    }

    @Test
    void unacknowledgedTransactionsComeBackWithTheSameIds() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        PostgresSource.Builder builder = source(t);
        List<String> ids = new ArrayList<>();
        try (PostgresSource source = builder.build()) {
            source.start();
            pg.execute("BEGIN; INSERT INTO " + t + " VALUES (1); INSERT INTO " + t + " VALUES (2); COMMIT");
            for (SourceRecord r : data(pollCommits(source, 1))) {
                if (r instanceof ChangeEvent e) {
                    ids.add(e.id());
                }
            }
        }
        awaitSlotInactive(builder.build().slot());
        try (PostgresSource source = builder.build()) {
            source.start();
            List<String> again = new ArrayList<>();
            for (SourceRecord r : data(pollCommits(source, 1))) {
                if (r instanceof ChangeEvent e) {
                    again.add(e.id());
                }
            }
            assertThat(again).hasSize(2).isEqualTo(ids);
        }
    }

    @Test
    @Timeout(60)
    void slotStaysPutUntilAcknowledgedEvenAcrossStatusIntervals() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        PostgresSource.Builder builder = source(t).statusInterval(Duration.ofSeconds(1));
        try (PostgresSource source = builder.build()) {
            source.start();
            String slot = source.slot();
            Lsn created = slotPosition(slot);
            pg.execute("INSERT INTO " + t + " VALUES (1)");
            pg.execute("INSERT INTO " + t + " VALUES (2)");
            List<SourceRecord> data = data(pollCommits(source, 2));
            TransactionCommit firstCommit = (TransactionCommit) data.get(1);
            pollFor(source, Duration.ofSeconds(3), r -> false); // several status updates and keepalives
            assertThat(slotPosition(slot)).isEqualTo(created);

            source.acknowledge(firstCommit.endLsn());
            pollFor(source, Duration.ofSeconds(3), r -> false);
            assertThat(slotPosition(slot)).isEqualTo(firstCommit.endLsn());
        }
    }

    @Test
    @Timeout(60)
    void anAcknowledgementReachesTheServerSoonNotAtTheNextStatusInterval() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        try (PostgresSource source = source(t).statusInterval(Duration.ofMinutes(10)).build()) {
            source.start();
            String slot = source.slot();
            pg.execute("INSERT INTO " + t + " VALUES (1)");
            TransactionCommit commit = (TransactionCommit) data(pollCommits(source, 1)).get(1);

            source.acknowledge(commit.endLsn());

            await("slot " + slot + " confirms " + commit.endLsn()).atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(20)).until(() -> {
                        SourceRecord r = source.poll(Duration.ofMillis(20));
                        assertThat(r instanceof ChangeEvent).as("no data expected: %s", r).isFalse();
                        return slotPosition(slot).equals(commit.endLsn());
                    });
        }
    }

    @Test
    @Timeout(60)
    void idleStreamStaysAliveOverSeveralStatusIntervalsAndStillDelivers() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        try (PostgresSource source = source(t).statusInterval(Duration.ofSeconds(1)).build()) {
            source.start();
            pollFor(source, Duration.ofMillis(3500), r -> false);
            pg.execute("INSERT INTO " + t + " VALUES (42)");
            List<SourceRecord> data = data(pollCommits(source, 1));
            assertThat(((ChangeEvent) data.get(0)).after().get("id")).isEqualTo(42L);
        }
    }

    @Test
    @Timeout(60)
    void heartbeatFollowsAcknowledgementWhenIdle() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        try (PostgresSource source = source(t).statusInterval(Duration.ofSeconds(1)).build()) {
            source.start();
            pg.execute("INSERT INTO " + t + " VALUES (1)");
            TransactionCommit commit = (TransactionCommit) data(pollCommits(source, 1)).get(1);
            source.acknowledge(commit.endLsn());
            pg.execute("CREATE TABLE unpublished_" + names.incrementAndGet() + " (id int)");
            SourceRecord hb = pollFor(source, Duration.ofSeconds(20), r -> r instanceof Heartbeat);
            assertThat(hb).isInstanceOf(Heartbeat.class);
            assertThat(((Heartbeat) hb).lsn()).isGreaterThan(commit.endLsn());
        }
    }

    @Test
    @Timeout(90)
    void brokenConnectionIsRetryableAndNoticedWithinSecondsAndStartingAgainResumes() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        // A status interval far longer than the bound below: the end of the connection must show while
        // reading, not only when the next periodic status update fails to write.
        PostgresSource source = source(t).statusInterval(Duration.ofSeconds(60)).build();
        try {
            source.start();
            pg.execute("INSERT INTO " + t + " VALUES (1)");
            source.acknowledge(((TransactionCommit) data(pollCommits(source, 1)).get(1)).endLsn());
            // Act like the engine while the server shuts down: PostgreSQL waits for a logical walsender's
            // client to confirm everything sent, which it does by acknowledging the heartbeat.
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                try {
                    while (true) {
                        SourceRecord r = source.poll(Duration.ofMillis(100));
                        if (r instanceof Heartbeat h) {
                            source.acknowledge(h.lsn());
                        }
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            reader.start();
            pg.stopServer();
            await("the source notices that the server is gone").atMost(Duration.ofSeconds(5))
                    .until(() -> failure.get() != null);
            assertThat(failure.get()).isInstanceOf(RetryableException.class).hasMessageContaining("broke");
            pg.startServer();
            source.close();
            pg.execute("INSERT INTO " + t + " VALUES (2)");
            source.start();
            List<SourceRecord> again = data(pollCommits(source, 1));
            assertThat(((ChangeEvent) again.get(0)).after().get("id")).isEqualTo(2L);
        } finally {
            pg.startServer(); // a no-op unless the test failed while the server was down
            source.close();
        }
    }

    /**
     * pgoutput sends a table's Relation message again after anything that invalidates its cache entry:
     * autovacuum's ANALYZE, or a new DEFAULT. The lookup of NOT NULL columns and defaults that follows each one
     * used to open a connection of its own, on the reader's thread, which held up every change behind it by
     * 33–250 ms; the session keeps one catalog connection for that.
     */
    @Test
    void relationMessagesAfterAnalyzeAndNewDefaultsAreLookedUpOnTheSessionsOneCatalogConnection() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, name text DEFAULT 'a')");
        // The slot monitor's own connection, opened at its first reading, would count as a second one.
        try (PostgresSource source = source(t).slotMonitorInterval(Duration.ofMinutes(10)).build()) {
            source.start();
            pg.execute("INSERT INTO " + t + " VALUES (0)");
            pollCommits(source, 1);
            // The start's checks closed their connections; the server may list a closing one a moment longer.
            await("the session's one catalog connection").atMost(Duration.ofSeconds(10))
                    .until(() -> catalogConnections().matches("\\d+"));
            String catalogConnection = catalogConnections();
            for (int i = 1; i <= 3; i++) {
                pg.execute("ANALYZE " + t + "; ALTER TABLE " + t + " ALTER COLUMN name SET DEFAULT 'd" + i + "'; "
                        + "INSERT INTO " + t + " VALUES (" + i + ")");
                ChangeEvent insert = (ChangeEvent) data(pollCommits(source, 1)).get(0);
                String newDefault = "'d" + i + "'::text";
                assertThat(insert.columnTypes()).filteredOn(c -> c.name().equals("name")).singleElement()
                        .satisfies(c -> assertThat(c.defaultExpression()).isEqualTo(newDefault));
            }
            assertThat(catalogConnections()).as("still the one catalog connection").isEqualTo(catalogConnection);

            // A kept connection the server ended (idle_session_timeout, an administrator) is replaced, and the
            // session goes on: the next change comes from the same walsender, with the newest default.
            String walsender = sourceConnections("walsender");
            pg.execute("SELECT pg_terminate_backend(" + catalogConnection + ")");
            pg.execute("ALTER TABLE " + t + " ALTER COLUMN name SET DEFAULT 'e'; INSERT INTO " + t + " VALUES (9)");
            ChangeEvent insert = (ChangeEvent) data(pollCommits(source, 1)).get(0);
            assertThat(insert.columnTypes()).filteredOn(c -> c.name().equals("name")).singleElement()
                    .satisfies(c -> assertThat(c.defaultExpression()).isEqualTo("'e'::text"));
            assertThat(catalogConnections()).isNotEmpty().isNotEqualTo(catalogConnection);
            assertThat(sourceConnections("walsender")).isEqualTo(walsender);
        }
        await("the catalog connection closed with the session").atMost(Duration.ofSeconds(10))
                .until(() -> catalogConnections().isEmpty());
    }

    /** The pids of the source's ordinary connections (its replication connection is a walsender). */
    private static String catalogConnections() {
        return sourceConnections("client backend");
    }

    /** The pids of the source's connections of one {@code pg_stat_activity.backend_type}, comma-separated. */
    private static String sourceConnections(String backendType) {
        String pids = pg.queryString("SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity "
                + "WHERE application_name = 'deltaforge-it' AND backend_type = '" + backendType + "'");
        return pids == null ? "" : pids;
    }

    @Test
    void missingPublicationFailsNamingItAndTheFix() {
        pg.execute("CREATE TABLE IF NOT EXISTS public.users (id int PRIMARY KEY)");
        try (PostgresSource source = builder("no_such_pub").tables(List.of("public.users")).build()) {
            assertThatThrownBy(source::start)
                    .isInstanceOf(DeltaforgeException.class)
                    .isNotInstanceOf(RetryableException.class)
                    .hasMessageContaining("publication 'no_such_pub' does not exist")
                    .hasMessageContaining("CREATE PUBLICATION \"no_such_pub\" FOR TABLE \"public\".\"users\";");
        }
    }

    @Test
    void aSourceFindingItsSlotHeldWaitsNotReadyAndTakesOverWhenTheHolderLetsGo() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        PostgresSource.Builder builder = source(t);
        try (PostgresSource first = builder.build(); PostgresSource second = builder.build()) {
            first.start();
            first.poll(Duration.ofMillis(100));
            String holder = pg.queryString("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '"
                    + first.slot() + "'");

            second.start();
            assertThat(second.poll(Duration.ofMillis(300))).isNull();
            assertThat(second.degraded()).isEqualTo("waiting for slot " + first.slot() + " held by pid " + holder
                    + " (another reader, e.g. the active runner); this source takes over when it lets go");

            first.close();
            pg.execute("INSERT INTO " + t + " VALUES (1)");
            List<SourceRecord> taken = data(pollCommits(second, 1));
            assertThat(taken).first().isInstanceOfSatisfying(ChangeEvent.class,
                    e -> assertThat(e.after().get("id")).isEqualTo(1L));
            assertThat(second.degraded()).isNull();
        }
    }

    @Test
    void missingSlotWithoutCreateSlotFailsPermanently() {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        try (PostgresSource source = source(t).createSlot(false).build()) {
            assertThatThrownBy(source::start)
                    .isInstanceOf(DeltaforgeException.class)
                    .isNotInstanceOf(RetryableException.class)
                    .hasMessageContaining("does not exist and create_slot is false")
                    .hasMessageContaining("pg_create_logical_replication_slot");
        }
    }

    @Test
    void aSlotDroppedWhileThePipelineWasStoppedIsNotSilentlyRecreated() throws InterruptedException {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        String slot = "dropped_while_stopped";
        PostgresSource.Builder config = source(t).slot(slot);
        try (PostgresSource first = config.build()) {
            first.start();
            first.poll(Duration.ofMillis(200));
            assertThat(first.newestPosition()).as("server position for the lag metric").isNotNull();
        }
        pg.execute("SELECT pg_drop_replication_slot('" + slot + "')");
        try (PostgresSource again = config.build()) {
            assertThatThrownBy(again::start)
                    .isInstanceOf(DeltaforgeException.class)
                    .isNotInstanceOf(RetryableException.class)
                    .hasMessageContaining("dropped or invalidated while the pipeline was stopped")
                    .hasMessageContaining("DELETE FROM deltaforge.deltaforge_snapshots WHERE slot = '" + slot + "'");
        }
        pg.execute("DELETE FROM deltaforge.deltaforge_snapshots WHERE slot = '" + slot + "'");
        try (PostgresSource fresh = config.build()) {
            fresh.start();
        }
    }

    @Test
    void wrongPasswordFailsPermanentlyWithoutShowingIt() {
        String dsn = "postgres://postgres:WrongPassword123@" + pg.host() + ":" + pg.port() + "/postgres";
        try (PostgresSource source = PostgresSource.builder().dsn(dsn).slot("never_created").publication("p").build()) {
            assertThatThrownBy(source::start)
                    .isInstanceOf(DeltaforgeException.class)
                    .isNotInstanceOf(RetryableException.class)
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("WrongPassword123"));
        }
    }

    @Test
    void unreachableServerIsRetryable() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (PostgresSource source = PostgresSource.builder().dsn("postgres://u:p@127.0.0.1:" + port + "/db")
                .slot("s").publication("p").build()) {
            assertThatThrownBy(source::start).isInstanceOf(RetryableException.class);
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------

    /** Creates a uniquely named table from a template with %s, plus a publication for it. */
    private static String table(String ddlTemplate) {
        String name = "public.t" + names.incrementAndGet();
        pg.execute(String.format(ddlTemplate, name));
        return name;
    }

    private static PostgresSource.Builder source(String table) {
        String pub = "pub_" + names.incrementAndGet();
        pg.execute("CREATE PUBLICATION " + pub + " FOR TABLE " + table);
        return builder(pub);
    }

    private static PostgresSource.Builder builder(String publication) {
        return PostgresSource.builder()
                .id("it")
                .dsn(pg.dsn())
                .slot("slot_" + names.incrementAndGet())
                .publication(publication)
                .statusInterval(Duration.ofSeconds(1));
    }

    /** Polls until {@code commits} transaction commits arrived; returns everything polled. */
    private static List<SourceRecord> pollCommits(PostgresSource source, int commits) throws InterruptedException {
        List<SourceRecord> out = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        int seen = 0;
        while (seen < commits) {
            assertThat(System.nanoTime()).as("waiting for %d commits, got %s", commits, out).isLessThan(deadline);
            SourceRecord r = source.poll(Duration.ofMillis(200));
            if (r != null) {
                out.add(r);
                if (r instanceof TransactionCommit) {
                    seen++;
                }
            }
        }
        return out;
    }

    private static List<SourceRecord> data(List<SourceRecord> records) {
        return records.stream().filter(r -> !(r instanceof Heartbeat)).toList();
    }

    /** Polls for {@code time} or until a record matches; returns the match or null. */
    private static SourceRecord pollFor(PostgresSource source, Duration time, Predicate<SourceRecord> stop)
            throws InterruptedException {
        long deadline = System.nanoTime() + time.toNanos();
        while (System.nanoTime() < deadline) {
            SourceRecord r = source.poll(Duration.ofMillis(100));
            if (r != null && stop.test(r)) {
                return r;
            }
            if (r != null) {
                assertThat(r).as("no data expected while idle").isNotInstanceOf(ChangeEvent.class);
            }
        }
        return null;
    }

    private static Lsn slotPosition(String slot) {
        return Lsn.parse(pg.queryString("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '"
                + slot + "'"));
    }

    private static void awaitSlotInactive(String slot) {
        await("slot " + slot + " released by its walsender").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> "f".equals(pg.queryString("SELECT active FROM pg_replication_slots WHERE slot_name = '"
                        + slot + "'")));
    }
}
