package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.Row;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Heartbeat;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import io.deltaforge.testkit.PostgresServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** pgoutput coverage against a real server: truncate, messages, relation changes, TOAST, identities, positions. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProtocolIT {
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
    void truncateEmitsOneEventPerTableWithCascadeAndRestartIdentity() throws Exception {
        String a = table("CREATE TABLE %s (id serial PRIMARY KEY)");
        String b = table("CREATE TABLE %s (id int PRIMARY KEY)");
        try (PostgresSource source = source(a + ", " + b).build()) {
            source.start();
            pg.execute("INSERT INTO " + a + " DEFAULT VALUES");
            pg.execute("TRUNCATE " + a + ", " + b + " RESTART IDENTITY CASCADE");
            pg.execute("TRUNCATE " + b);
            List<ChangeEvent> events = events(pollCommits(source, 3));
            assertThat(events).extracting(ChangeEvent::op).containsExactly(Op.CREATE, Op.TRUNCATE, Op.TRUNCATE,
                    Op.TRUNCATE);
            assertThat(events.subList(1, 3)).extracting(e -> e.table().toString()).containsExactlyInAnyOrder(a, b);
            assertThat(events.subList(1, 3)).allSatisfy(e -> {
                assertThat(e.detail()).isEqualTo(new ChangeEvent.Detail.Truncate(true, true));
                assertThat(e.before()).isNull();
                assertThat(e.after()).isNull();
            });
            assertThat(events.get(1).position().commitLsn()).isEqualTo(events.get(2).position().commitLsn());
            assertThat(events.get(1).id()).isNotEqualTo(events.get(2).id());
            assertThat(events.get(3).detail()).isEqualTo(new ChangeEvent.Detail.Truncate(false, false));
        }
    }

    @Test
    void logicalMessagesBecomeEventsWhenEnabled() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        try (PostgresSource source = source(t).messages(true).build()) {
            source.start();
            pg.execute("INSERT INTO " + t + " VALUES (1); SELECT pg_logical_emit_message(true, 'audit', 'in tx')");
            pg.execute("SELECT pg_logical_emit_message(false, 'ping', 'alone')");
            pg.execute("INSERT INTO " + t + " VALUES (2)");
            List<SourceRecord> data = data(pollCommits(source, 3));
            assertThat(data).hasSize(7);
            ChangeEvent insert = (ChangeEvent) data.get(0);
            ChangeEvent inTx = (ChangeEvent) data.get(1);
            TransactionCommit c1 = (TransactionCommit) data.get(2);
            ChangeEvent alone = (ChangeEvent) data.get(3);
            TransactionCommit c2 = (TransactionCommit) data.get(4);
            assertThat(insert.op()).isEqualTo(Op.CREATE);
            assertThat(inTx.op()).isEqualTo(Op.MESSAGE);
            assertThat(inTx.table()).isEqualTo(new TableId("", "audit"));
            ChangeEvent.Detail.Message m1 = (ChangeEvent.Detail.Message) inTx.detail();
            assertThat(m1.transactional()).isTrue();
            assertThat(new String(m1.content(), StandardCharsets.UTF_8)).isEqualTo("in tx");
            assertThat(inTx.position().commitLsn()).isEqualTo(c1.commitLsn());
            assertThat(c1.eventCount()).isEqualTo(2);

            ChangeEvent.Detail.Message m2 = (ChangeEvent.Detail.Message) alone.detail();
            assertThat(m2.prefix()).isEqualTo("ping");
            assertThat(m2.transactional()).isFalse();
            assertThat(new String(m2.content(), StandardCharsets.UTF_8)).isEqualTo("alone");
            assertThat(c2.eventCount()).isEqualTo(1);
            assertThat(c2.endLsn()).isEqualTo(alone.position().commitLsn()).isGreaterThan(c1.endLsn());
            assertThat(((TransactionCommit) data.get(6)).commitLsn()).isGreaterThan(c2.endLsn());

            // Acknowledging the message's own "commit" and restarting neither loses nor repeats anything.
            source.acknowledge(c2.endLsn());
            source.close();
            awaitSlotInactive(source.slot());
            source.start();
            List<ChangeEvent> again = events(pollCommits(source, 1));
            assertThat(again).hasSize(1);
            assertThat(again.get(0).after().get("id")).isEqualTo(2L);
            assertThat(again.get(0).id()).isEqualTo(((ChangeEvent) data.get(5)).id());
        }
    }

    @Test
    void logicalMessagesAreNotRequestedByDefault() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        try (PostgresSource source = source(t).build()) {
            source.start();
            pg.execute("INSERT INTO " + t + " VALUES (1); SELECT pg_logical_emit_message(true, 'audit', 'x')");
            pg.execute("SELECT pg_logical_emit_message(false, 'ping', 'y')");
            pg.execute("INSERT INTO " + t + " VALUES (2)");
            List<ChangeEvent> events = events(pollCommits(source, 2));
            assertThat(events).extracting(ChangeEvent::op).containsExactly(Op.CREATE, Op.CREATE);
        }
    }

    @Test
    void eventsAfterAlterTableUseTheNewColumnsAndANewSchemaVersion() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, a text)");
        try (PostgresSource source = source(t).build()) {
            source.start();
            pg.execute("INSERT INTO " + t + " VALUES (1, 'x')");
            pg.execute("ALTER TABLE " + t + " ADD COLUMN b int");
            pg.execute("INSERT INTO " + t + " VALUES (2, 'y', 5)");
            pg.execute("ALTER TABLE " + t + " DROP COLUMN a");
            pg.execute("INSERT INTO " + t + " VALUES (3, 6)");
            pg.execute("ALTER TABLE " + t + " ALTER COLUMN b TYPE numeric(10,2)");
            pg.execute("INSERT INTO " + t + " VALUES (4, 7)");
            pg.execute("ALTER TABLE " + t + " REPLICA IDENTITY FULL"); // resends the relation, same columns
            pg.execute("INSERT INTO " + t + " VALUES (5, 8)");
            List<ChangeEvent> events = events(pollCommits(source, 5));
            assertThat(events).extracting(e -> e.after().columns()).containsExactly(List.of("id", "a"),
                    List.of("id", "a", "b"), List.of("id", "b"), List.of("id", "b"), List.of("id", "b"));
            assertThat(events).extracting(ChangeEvent::schemaVersion).containsExactly(1, 2, 3, 4, 4);
            assertThat(events.get(3).after().get("b")).isEqualTo(new java.math.BigDecimal("7.00"));
        }
    }

    @Test
    void unchangedToastedColumnIsListedAndLeftOutOrReplacedByThePlaceholder() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY, big text, note text)");
        pg.execute("ALTER TABLE " + t + " ALTER COLUMN big SET STORAGE EXTERNAL");
        // About 6 kB of incompressible text: stored out of line (TOAST), and EXTERNAL forbids compression.
        String value = pg.queryString("SELECT string_agg(md5(random()::text || g::text), '') FROM generate_series(1, 200) g");
        pg.execute("INSERT INTO " + t + " VALUES (1, '" + value + "', 'a')");
        assertThat(pg.queryString("SELECT pg_column_size(big) > 2000 FROM " + t)).isEqualTo("t");
        for (String placeholder : new String[]{null, "__unchanged__"}) {
            String before = pg.queryString("SELECT big FROM " + t);
            PostgresSource.Builder builder = source(t);
            if (placeholder != null) {
                builder.toastPlaceholder(placeholder);
            }
            try (PostgresSource source = builder.build()) {
                source.start();
                pg.execute("UPDATE " + t + " SET note = 'b" + placeholder + "' WHERE id = 1");
                pg.execute("UPDATE " + t + " SET big = big || 'x', note = 'c' WHERE id = 1");
                List<ChangeEvent> events = events(pollCommits(source, 2));
                ChangeEvent untouched = events.get(0);
                assertThat(untouched.unchangedColumns()).containsExactly("big");
                if (placeholder == null) {
                    assertThat(untouched.after().columns()).containsExactly("id", "note");
                } else {
                    assertThat(untouched.after().get("big")).isEqualTo(placeholder);
                }
                ChangeEvent changed = events.get(1);
                assertThat(changed.unchangedColumns()).isEmpty();
                assertThat(changed.after().get("big")).isEqualTo(before + "x");
                assertThat(before).startsWith(value);
            }
        }
    }

    @Test
    void beforeHoldsExactlyWhatEachReplicaIdentitySends() throws Exception {
        String def = table("CREATE TABLE %s (id int PRIMARY KEY, v text)");
        String full = table("CREATE TABLE %s (id int PRIMARY KEY, v text, w text)");
        pg.execute("ALTER TABLE " + full + " REPLICA IDENTITY FULL");
        String idx = table("CREATE TABLE %s (id int PRIMARY KEY, code text NOT NULL, v text)");
        pg.execute("CREATE UNIQUE INDEX " + idx.substring(7) + "_code ON " + idx + " (code);"
                + "ALTER TABLE " + idx + " REPLICA IDENTITY USING INDEX " + idx.substring(7) + "_code");
        String pub = "pub_" + names.incrementAndGet();
        pg.execute("CREATE PUBLICATION " + pub + " FOR TABLE " + def + ", " + full + ", " + idx
);
        for (String t : List.of(def, full)) {
            pg.execute("INSERT INTO " + t + " (id, v) VALUES (1, 'a')");
        }
        pg.execute("INSERT INTO " + idx + " VALUES (1, 'c1', 'a')");
        try (PostgresSource source = builder(pub).build()) {
            source.start();
            pg.execute("UPDATE " + def + " SET v = 'b' WHERE id = 1");
            pg.execute("UPDATE " + def + " SET id = 2 WHERE id = 1");
            pg.execute("DELETE FROM " + def);
            pg.execute("UPDATE " + full + " SET v = 'b' WHERE id = 1");
            pg.execute("DELETE FROM " + full);
            pg.execute("UPDATE " + idx + " SET v = 'b' WHERE id = 1");
            pg.execute("UPDATE " + idx + " SET code = 'c2' WHERE id = 1");
            pg.execute("DELETE FROM " + idx);
            List<ChangeEvent> e = events(pollCommits(source, 8));
            assertThat(e.get(0).before()).isNull();                                   // DEFAULT, key unchanged
            assertThat(e.get(1).before()).isEqualTo(Row.of(List.of("id"), 1L));       // DEFAULT, key changed
            assertThat(e.get(2).before()).isEqualTo(Row.of(List.of("id"), 2L));       // DEFAULT delete
            assertThat(e.get(3).before()).isEqualTo(Row.of(List.of("id", "v", "w"), 1L, "a", null)); // FULL
            assertThat(e.get(4).before()).isEqualTo(Row.of(List.of("id", "v", "w"), 1L, "b", null));
            assertThat(e.get(5).before()).isNull();                                   // USING INDEX, unchanged
            assertThat(e.get(6).before()).isEqualTo(Row.of(List.of("code"), "c1"));  // index column changed
            assertThat(e.get(7).before()).isEqualTo(Row.of(List.of("code"), "c2"));
        }
    }

    @Test
    void latestSkipsWhatTheSlotHoldsOnceAndAReconnectDoesNotSkipAgain() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        PostgresSource.Builder builder = source(t);
        try (PostgresSource first = builder.build()) {
            first.start(); // creates the slot
        }
        String slot = builder.build().slot();
        awaitSlotInactive(slot);
        pg.execute("INSERT INTO " + t + " VALUES (1)");
        pg.execute("INSERT INTO " + t + " VALUES (2)");
        Lsn walEnd = writtenWal();
        try (PostgresSource source = builder.startPosition(StartPosition.LATEST).build()) {
            source.start();
            assertThat(slotPosition(slot)).isGreaterThanOrEqualTo(walEnd);
            pg.execute("INSERT INTO " + t + " VALUES (3)");
            assertThat(events(pollCommits(source, 1))).extracting(e -> e.after().get("id")).containsExactly(3L);
            source.close();
            awaitSlotInactive(slot);
            pg.execute("INSERT INTO " + t + " VALUES (4)");
            source.start(); // as the engine does after a connection problem
            List<ChangeEvent> again = events(pollCommits(source, 2));
            assertThat(again).extracting(e -> e.after().get("id")).containsExactly(3L, 4L);
        }
    }

    @Test
    void lsnStartPositionSkipsEarlierTransactionsAndRefusesToGoBack() throws Exception {
        String t = table("CREATE TABLE %s (id int PRIMARY KEY)");
        PostgresSource.Builder builder = source(t);
        try (PostgresSource first = builder.build()) {
            first.start();
        }
        String slot = builder.build().slot();
        awaitSlotInactive(slot);
        Lsn created = slotPosition(slot);
        pg.execute("INSERT INTO " + t + " VALUES (1)");
        Lsn between = writtenWal();
        pg.execute("INSERT INTO " + t + " VALUES (2)");
        try (PostgresSource source = builder.startPosition(StartPosition.at(between)).build()) {
            source.start();
            assertThat(events(pollCommits(source, 1))).extracting(e -> e.after().get("id")).containsExactly(2L);
        }
        awaitSlotInactive(slot);
        try (PostgresSource source = builder.startPosition(StartPosition.at(created)).build()) {
            assertThatThrownBy(source::start).isInstanceOf(DeltaforgeException.class)
                    .isNotInstanceOf(RetryableException.class)
                    .hasMessageContaining("start_position " + created + " is before the confirmed position")
                    .hasMessageContaining("start_position: earliest");
        }
    }

    @Test
    void listedTablesAreCheckedAgainstThePublicationAndTheDatabase() {
        String in = table("CREATE TABLE %s (id int PRIMARY KEY)");
        String out = table("CREATE TABLE %s (id int PRIMARY KEY)");
        String pub = "pub_" + names.incrementAndGet();
        pg.execute("CREATE PUBLICATION " + pub + " FOR TABLE " + in);
        try (PostgresSource s = builder(pub).tables(List.of(in, out)).build()) {
            assertThatThrownBy(s::start).isInstanceOf(DeltaforgeException.class)
                    .isNotInstanceOf(RetryableException.class)
                    .hasMessageContaining("publication '" + pub + "' does not include [" + out + "]")
                    .hasMessageContaining("ALTER PUBLICATION \"" + pub + "\" ADD TABLE \"public\".\""
                            + out.substring(7) + "\"");
        }
        try (PostgresSource s = builder(pub).tables(List.of(in, "public.no_such_table")).build()) {
            assertThatThrownBy(s::start).hasMessageContaining("table public.no_such_table (tables: "
                    + "'public.no_such_table') does not exist in database 'postgres'");
        }
        try (PostgresSource s = builder(pub).tables(List.of("nowhere.*")).build()) {
            assertThatThrownBy(s::start).hasMessageContaining("pattern 'nowhere.*' matches no table");
        }
        try (PostgresSource s = builder("missing_" + pub).tables(List.of(in)).build()) {
            assertThatThrownBy(s::start).hasMessageContaining("publication 'missing_" + pub + "' does not exist")
                    .hasMessageContaining("CREATE PUBLICATION \"missing_" + pub + "\" FOR TABLE");
        }
    }

    @Test
    void autocreateCreatesAndExtendsThePublicationForExactlyTheListedTables() throws Exception {
        pg.execute("CREATE SCHEMA IF NOT EXISTS auto; CREATE TABLE auto.a1 (id int PRIMARY KEY);"
                + "CREATE TABLE auto.a2 (id int PRIMARY KEY); CREATE TABLE auto.other (id int PRIMARY KEY)");
        String pub = "pub_" + names.incrementAndGet();
        try (PostgresSource s = builder(pub).tables(List.of("auto.a*")).publicationMode(PublicationMode.AUTOCREATE)
                .build()) {
            s.start();
            assertThat(pg.queryString("SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY tablename) "
                    + "FROM pg_publication_tables WHERE pubname = '" + pub + "'")).isEqualTo("auto.a1,auto.a2");
            pg.execute("INSERT INTO auto.a2 VALUES (1); INSERT INTO auto.other VALUES (1)");
            assertThat(events(pollCommits(s, 1))).extracting(e -> e.table().toString()).containsExactly("auto.a2");
        }
        try (PostgresSource s = builder(pub).tables(List.of("auto.*")).publicationMode(PublicationMode.AUTOCREATE)
                .build()) {
            s.start();
            assertThat(pg.queryString("SELECT count(*) FROM pg_publication_tables WHERE pubname = '" + pub + "'"))
                    .isEqualTo("3");
        }
    }

    @Test
    void heartbeatWritesLetTheSlotAdvanceOnAQuietFilteredDatabase() throws Exception {
        String published = table("CREATE TABLE %s (id int PRIMARY KEY)");
        String unpublished = table("CREATE TABLE %s (id int PRIMARY KEY)");
        try (PostgresSource source = source(published).messages(true).heartbeatInterval(Duration.ofSeconds(1))
                .statusInterval(Duration.ofSeconds(1)).build()) {
            source.start();
            Lsn start = slotPosition(source.slot());
            pg.execute("INSERT INTO " + unpublished + " SELECT generate_series(1, 1000)");
            Lsn afterWrites = Lsn.parse(pg.queryString("SELECT pg_current_wal_lsn()"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (slotPosition(source.slot()).compareTo(afterWrites) < 0) {
                assertThat(System.nanoTime()).as("slot stayed at %s (started at %s), wanted %s",
                        slotPosition(source.slot()), start, afterWrites).isLessThan(deadline);
                SourceRecord r = source.poll(Duration.ofMillis(200));
                if (r != null) {
                    assertThat(r).as("heartbeat messages never become events").isNotInstanceOf(ChangeEvent.class);
                }
                if (r instanceof Heartbeat hb) {
                    source.acknowledge(hb.lsn()); // what the engine does once earlier records are delivered
                }
            }
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------

    private static String table(String ddlTemplate) {
        String name = "public.p" + names.incrementAndGet();
        pg.execute(String.format(ddlTemplate, name));
        return name;
    }

    /** A builder for a new publication of {@code tables} (comma-separated). */
    private static PostgresSource.Builder source(String tables) {
        String pub = "pub_" + names.incrementAndGet();
        pg.execute("CREATE PUBLICATION " + pub + " FOR TABLE " + tables);
        return builder(pub);
    }

    private static PostgresSource.Builder builder(String publication) {
        return PostgresSource.builder().id("it").dsn(pg.dsn()).slot("pslot_" + names.incrementAndGet())
                .publication(publication).statusInterval(Duration.ofSeconds(1));
    }

    /**
     * Polls until {@code commits} transactions with events were committed. Empty ones do not count:
     * PostgreSQL before 15 sends a transaction that touched no published table (DDL, say) as an empty one.
     */
    static List<SourceRecord> pollCommits(PostgresSource source, int commits) throws InterruptedException {
        List<SourceRecord> out = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        int seen = 0;
        while (seen < commits) {
            assertThat(System.nanoTime()).as("waiting for %d commits, got %s", commits, out).isLessThan(deadline);
            SourceRecord r = source.poll(Duration.ofMillis(200));
            if (r != null) {
                out.add(r);
                if (r instanceof TransactionCommit c && c.eventCount() > 0) {
                    seen++;
                }
            }
        }
        return out;
    }

    static List<SourceRecord> data(List<SourceRecord> records) {
        return records.stream().filter(r -> !(r instanceof Heartbeat)).toList();
    }

    static List<ChangeEvent> events(List<SourceRecord> records) {
        return records.stream().filter(r -> r instanceof ChangeEvent).map(ChangeEvent.class::cast).toList();
    }

    /**
     * The WAL insert position once it is written out: the test server runs with synchronous_commit=off, so
     * pg_current_wal_lsn() (and what a slot can be advanced to) lags for up to wal_writer_delay.
     */
    private static Lsn writtenWal() {
        Lsn insert = Lsn.parse(pg.queryString("SELECT pg_current_wal_insert_lsn()"));
        await("WAL flush to reach " + insert).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> Lsn.parse(pg.queryString("SELECT pg_current_wal_flush_lsn()")).compareTo(insert) >= 0);
        return insert;
    }

    private static Lsn slotPosition(String slot) {
        return Lsn.parse(pg.queryString("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '"
                + slot + "'"));
    }

    private static void awaitSlotInactive(String slot) {
        await("slot " + slot + " released by its walsender").atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> "f".equals(pg.queryString("SELECT active FROM pg_replication_slots WHERE slot_name = '"
                        + slot + "'")));
    }
}
