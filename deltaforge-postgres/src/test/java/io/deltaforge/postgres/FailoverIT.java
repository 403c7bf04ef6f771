package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.api.PipelineStatus;
import io.deltaforge.nats.NatsSink;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.Sink;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL failover under a running pipeline, with real servers: a primary, a physical standby made from
 * a copy of its data directory, the primary killed (SIGKILL) under load, the standby promoted; the source's
 * DSN names both hosts.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class FailoverIT {
    private static final Logger log = LoggerFactory.getLogger(FailoverIT.class);
    private static final Duration PATIENCE = Duration.ofSeconds(90);

    /**
     * PostgreSQL 17's failover slots: the slot is synchronized to the standby and the pipeline continues on it
     * after the promotion; JetStream then holds every row of the new primary exactly once.
     */
    @Test
    void continuesOnThePromotedStandbyWithEveryCommittedChangeExactlyOnce() throws Exception {
        try (PostgresServer primary = PostgresServer.start()) {
            assumeTrue(primary.majorVersion() >= 17, "failover slots need PostgreSQL 17+ (this is "
                    + primary.majorVersion() + "); ./dev.sh pg-matrix runs this test on 17 and 18");
            primary.execute("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION fo_pub FOR TABLE t");
            try (PostgresServer standby = primary.startStandby("sb1", Map.of("sync_replication_slots", "on",
                    "hot_standby_feedback", "on"));
                 NatsServer nats = NatsServer.start();
                 io.nats.client.Connection nc = nats.connect()) {
                // The logical slot never gets ahead of what the standby has received.
                primary.addSettings(Map.of("synchronized_standby_slots", "'sb1'"));
                JetStreamManagement jsm = nc.jetStreamManagement();
                jsm.addStream(StreamConfiguration.builder().name("FAILOVER").subjects("failover.>")
                        .storageType(StorageType.File).duplicateWindow(Duration.ofMinutes(10)).build());
                Deliveries deliveries = new Deliveries();
                try (Pipeline pipeline = pipeline(twoHosts(primary, standby), nats, deliveries)) {
                    pipeline.start();
                    await().atMost(PATIENCE).until(() -> "t".equals(primary.queryString(
                            "SELECT failover FROM pg_replication_slots WHERE slot_name = 'fo_slot'")));
                    Load load = Load.start(primary, 1);
                    await().atMost(PATIENCE).until(() -> deliveries.distinct() >= 300);
                    // Synchronized (and no longer temporary) on the standby, so that a promotion keeps it.
                    await().atMost(PATIENCE).until(() -> "t".equals(standby.queryString("SELECT synced AND NOT "
                            + "temporary FROM pg_replication_slots WHERE slot_name = 'fo_slot'")));
                    await().atMost(PATIENCE).until(() -> deliveries.distinct() >= 600);

                    primary.kill();
                    load.awaitStopped();
                    long killedAt = System.nanoTime();
                    log.info("primary killed after {} committed inserts; promoting the standby", load.committed());
                    long promotedAt = System.nanoTime();
                    deliveries.markFrom(promotedAt);
                    standby.promote();
                    log.info("promotion took {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - promotedAt));
                    Load after = Load.start(standby, 1_000_000);
                    await().atMost(PATIENCE).until(() -> deliveries.firstAfterMark() != 0);
                    await().atMost(PATIENCE).until(() -> after.committed() >= 300);
                    after.stop();

                    long resumeMillis = TimeUnit.NANOSECONDS.toMillis(deliveries.firstAfterMark() - promotedAt);
                    log.info("FAILOVER: promotion to first delivered event {} ms (kill to promotion {} ms); "
                                    + "{} inserts on the old primary, {} on the new one",
                            resumeMillis, TimeUnit.NANOSECONDS.toMillis(promotedAt - killedAt), load.committed(),
                            after.committed());
                    Set<Integer> rows = ids(standby);
                    await().atMost(PATIENCE).until(() -> jsm.getStreamInfo("FAILOVER").getStreamState()
                            .getMsgCount() >= rows.size());
                    assertThat(pipeline.status().state()).isEqualTo(PipelineState.RUNNING);
                    Map<Integer, Integer> stored = streamed(jsm);
                    log.info("FAILOVER: {} rows on the new primary, {} messages in the stream, {} events delivered to "
                            + "the sinks more than once (replays JetStream dropped as duplicates)", rows.size(),
                            stored.values().stream().mapToInt(Integer::intValue).sum(), deliveries.repeats());
                    assertThat(stored.keySet()).containsExactlyInAnyOrderElementsOf(rows);
                    assertThat(stored.values()).allMatch(n -> n == 1);
                    assertThat(resumeMillis).isLessThan(10_000);
                }
            }
        }
    }

    /** A standby without slot synchronization (or PostgreSQL before 17) has no slot: a clear stop, no new slot. */
    @Test
    void stopsWhenTheSlotIsMissingOnThePromotedStandby() throws Exception {
        Outcome outcome = failOverWithoutSlotSync(Duration.ofMillis(200), standby -> { });
        assertThat(outcome.status().failure()).hasMessageContaining("replication slot 'fo_slot' does not exist on "
                        + "the new primary after the failover").hasMessageContaining("It is not recreated")
                .hasMessageContaining("docs/operations.md");
        assertThat(outcome.slotsOnStandby()).isEqualTo("0");
    }

    /** A slot made anew on the promoted standby (here by hand) would skip changes: a clear stop. */
    @Test
    void stopsWhenTheSlotOnThePromotedStandbyIsAheadOfWhatWasAcknowledged() throws Exception {
        // Slow retries, so that the slot is made on the promoted standby before the source comes back.
        Outcome outcome = failOverWithoutSlotSync(Duration.ofSeconds(8), standby -> {
            standby.execute("INSERT INTO t SELECT g, 'y' FROM generate_series(11, 20) g");
            standby.execute("SELECT pg_create_logical_replication_slot('fo_slot', 'pgoutput')");
        });
        assertThat(outcome.status().failure()).hasMessageContaining("after the failover, replication slot 'fo_slot' "
                + "on the new primary").hasMessageContaining("ahead of the last position this source "
                + "acknowledged").hasMessageContaining("would skip the changes in between");
        assertThat(outcome.delivered()).isEqualTo(10);
    }

    /** How a pipeline ended after a failover to a standby without slot synchronization. */
    private record Outcome(PipelineStatus status, int delivered, String slotsOnStandby) {
    }

    /**
     * A pipeline on a primary with a standby that does not synchronize slots: ten rows delivered, the primary
     * killed, the standby promoted and handed to {@code afterPromotion}; waits for the pipeline to fail. The
     * source is retried every {@code retry}.
     */
    private static Outcome failOverWithoutSlotSync(Duration retry, Consumer<PostgresServer> afterPromotion)
            throws Exception {
        try (PostgresServer primary = PostgresServer.start()) {
            primary.execute("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION fo_pub FOR TABLE t");
            try (PostgresServer standby = primary.startStandby("sb1", Map.of("hot_standby_feedback", "on"));
                 NatsServer nats = NatsServer.start();
                 io.nats.client.Connection nc = nats.connect()) {
                nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("FAILOVER")
                        .subjects("failover.>").storageType(StorageType.File).build());
                Deliveries deliveries = new Deliveries();
                try (Pipeline pipeline = pipeline(twoHosts(primary, standby), nats, deliveries, retry, retry)) {
                    pipeline.start();
                    primary.execute("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 10) g");
                    await().atMost(PATIENCE).until(() -> deliveries.distinct() >= 10
                            && pipeline.status().checkpoint() != null);
                    primary.kill();
                    standby.promote();
                    afterPromotion.accept(standby);
                    PipelineStatus status = awaitFailed(pipeline);
                    return new Outcome(status, deliveries.distinct(), String.valueOf(standby.queryString(
                            "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical'")));
                }
            }
        }
    }

    /** A host of the DSN that is another cluster is never streamed from, even with a slot of the same name. */
    @Test
    void stopsWhenTheNextHostIsAnotherCluster() throws Exception {
        try (PostgresServer first = PostgresServer.start(); PostgresServer other = PostgresServer.start();
             NatsServer nats = NatsServer.start(); io.nats.client.Connection nc = nats.connect()) {
            for (PostgresServer pg : List.of(first, other)) {
                pg.execute("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION fo_pub FOR TABLE t");
            }
            other.execute("SELECT pg_create_logical_replication_slot('fo_slot', 'pgoutput')");
            nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("FAILOVER")
                    .subjects("failover.>").storageType(StorageType.File).build());
            Deliveries deliveries = new Deliveries();
            try (Pipeline pipeline = pipeline(twoHosts(first, other), nats, deliveries)) {
                pipeline.start();
                first.execute("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 10) g");
                await().atMost(PATIENCE).until(() -> deliveries.distinct() >= 10);
                first.kill();
                other.execute("INSERT INTO t VALUES (100, 'elsewhere')");
                PipelineStatus status = awaitFailed(pipeline);
                assertThat(status.failure()).hasMessageContaining("belongs to another cluster")
                        .hasMessageContaining("127.0.0.1:" + other.port());
                assertThat(deliveries.distinct()).isEqualTo(10);
            }
        }
    }

    /** validate --check-connections names what the standby side still lacks, and stops naming it once set. */
    @Test
    void checkNamesWhatTheStandbySideStillNeeds() {
        try (PostgresServer primary = PostgresServer.start()) {
            assumeTrue(primary.majorVersion() >= 17, "failover slots need PostgreSQL 17+");
            primary.execute("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION fo_pub FOR TABLE t");
            try (PostgresServer standby = primary.startStandby("sb1", Map.of())) {
                PostgresSource source = PostgresSource.builder().id("failover").dsn(twoHosts(primary, standby))
                        .slot("fo_slot").publication("fo_pub").build();
                String standbyName = "standby 127.0.0.1:" + standby.port();
                assertThat(source.check()).anySatisfy(n -> assertThat(n).contains("synchronized_standby_slots is "
                                + "empty").contains("synchronized_standby_slots = 'sb1'"))
                        .anySatisfy(n -> assertThat(n).startsWith(standbyName + ": sync_replication_slots is off"))
                        .anySatisfy(n -> assertThat(n).startsWith(standbyName + ": hot_standby_feedback is off"))
                        .anySatisfy(n -> assertThat(n).startsWith(standbyName + ": replication slot 'fo_slot' is not "
                                + "synchronized there"));

                standby.addSettings(Map.of("sync_replication_slots", "on", "hot_standby_feedback", "on"));
                primary.addSettings(Map.of("synchronized_standby_slots", "'sb1'"));
                assertThat(source.check()).noneMatch(n -> n.contains("synchronized_standby_slots")
                        || n.contains("sync_replication_slots") || n.contains("hot_standby_feedback")
                        || n.contains("primary_slot_name") || n.contains("dbname"));
            }
        }
    }

    /** failover_slot: the slot's kind follows it, also for an existing slot. */
    @Test
    void theSlotIsAFailoverSlotUnlessTurnedOff() {
        try (PostgresServer pg = PostgresServer.start()) {
            assumeTrue(pg.majorVersion() >= 17, "failover slots need PostgreSQL 17+");
            pg.execute("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION fo_pub FOR TABLE t");
            String failover = "SELECT failover FROM pg_replication_slots WHERE slot_name = 'fo_slot'";
            startAndClose(pg, FailoverSlot.DISABLED);
            assertThat(pg.queryString(failover)).isEqualTo("f");
            startAndClose(pg, FailoverSlot.AUTO);
            assertThat(pg.queryString(failover)).isEqualTo("t");
            startAndClose(pg, FailoverSlot.DISABLED);
            assertThat(pg.queryString(failover)).isEqualTo("f");
        }
    }

    /** Before PostgreSQL 17: failover_slot: true is refused, and a multi-host check says what a failover does. */
    @Test
    void beforePostgres17FailoverSlotTrueIsRefusedAndCheckSaysTheSlotWouldBeLost() {
        try (PostgresServer pg = PostgresServer.start()) {
            assumeTrue(pg.majorVersion() < 17, "this server has failover slots");
            pg.execute("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION fo_pub FOR TABLE t");
            PostgresSource refused = PostgresSource.builder().dsn(pg.dsn()).slot("fo_slot").publication("fo_pub")
                    .failoverSlot(FailoverSlot.ENABLED).build();
            String expected = "failover_slot is true, but PostgreSQL " + pg.majorVersion() + " has no failover slots";
            assertThatThrownBy(refused::check).isInstanceOf(DeltaforgeException.class).hasMessageContaining(expected);
            assertThatThrownBy(refused::start).isInstanceOf(DeltaforgeException.class).hasMessageContaining(expected);
            refused.close();
            assertThat(pg.queryString("SELECT count(*) FROM pg_replication_slots")).isEqualTo("0");

            PostgresSource auto = PostgresSource.builder().dsn(twoHosts(pg, pg)).slot("fo_slot").publication("fo_pub")
                    .build();
            assertThat(auto.check()).anySatisfy(n -> assertThat(n).contains("PostgreSQL " + pg.majorVersion()
                    + " has no failover slots").contains("the pipeline stops"));
        }
    }

    private static void startAndClose(PostgresServer pg, FailoverSlot failoverSlot) {
        PostgresSource source = PostgresSource.builder().dsn(pg.dsn()).slot("fo_slot").publication("fo_pub")
                .failoverSlot(failoverSlot).build();
        try {
            source.start();
        } finally {
            source.close();
        }
    }

    private static String twoHosts(PostgresServer a, PostgresServer b) {
        return "postgres://postgres:postgres@127.0.0.1:" + a.port() + ",127.0.0.1:" + b.port()
                + "/postgres?target_session_attrs=read-write&connect_timeout=2";
    }

    private static Pipeline pipeline(String dsn, NatsServer nats, Deliveries deliveries) {
        return pipeline(dsn, nats, deliveries, Duration.ofMillis(200), Duration.ofSeconds(1));
    }

    private static Pipeline pipeline(String dsn, NatsServer nats, Deliveries deliveries, Duration retry,
                                     Duration maxRetry) {
        PostgresSource source = PostgresSource.builder().id("failover").dsn(dsn).slot("fo_slot")
                .publication("fo_pub").statusInterval(Duration.ofSeconds(1)).build();
        NatsSink sink = NatsSink.builder().id("nats").url(nats.url()).stream("FAILOVER").subject("failover.t")
                .sendTimeout(Duration.ofSeconds(5)).build();
        return Pipeline.builder().name("failover").source(source).sink(sink).sink(deliveries)
                .envelope(e -> new Message(e.id(), Map.of(), "text/plain",
                        String.valueOf(e.after().get("id")).getBytes(StandardCharsets.UTF_8)))
                .batch(new BatchConfig(100, 1 << 20, Duration.ofMillis(20), true))
                .retryBackoff(retry, maxRetry)
                .build();
    }

    private static PipelineStatus awaitFailed(Pipeline pipeline) {
        await().atMost(PATIENCE).until(() -> pipeline.status().state() == PipelineState.FAILED);
        PipelineStatus status = pipeline.status();
        log.info("pipeline failed as expected: {}", String.valueOf(status.failure()));
        return status;
    }

    private static Set<Integer> ids(PostgresServer pg) throws SQLException {
        Set<Integer> ids = new HashSet<>();
        try (Connection c = pg.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM t")) {
            while (rs.next()) {
                ids.add(rs.getInt(1));
            }
        }
        return ids;
    }

    /** The row ids in the stream, with how often each is there. */
    private static Map<Integer, Integer> streamed(JetStreamManagement jsm) throws Exception {
        long count = jsm.getStreamInfo("FAILOVER").getStreamState().getMsgCount();
        Map<Integer, Integer> seen = new HashMap<>();
        for (long seq = 1; seq <= count; seq++) {
            seen.merge(Integer.parseInt(new String(jsm.getMessage("FAILOVER", seq).getData(),
                    StandardCharsets.UTF_8)), 1, Integer::sum);
        }
        return seen;
    }

    /** A second sink that records which events reached the sinks, and when the first did after a mark. */
    private static final class Deliveries implements Sink {
        private final Map<String, Integer> byId = new ConcurrentHashMap<>();
        private volatile long mark = Long.MAX_VALUE;
        private final AtomicLong firstAfterMark = new AtomicLong();

        @Override
        public String id() {
            return "deliveries";
        }

        @Override
        public CompletionStage<Void> send(Batch batch) {
            long now = System.nanoTime();
            for (ChangeEvent e : batch.events()) {
                byId.merge(e.id().toString(), 1, Integer::sum);
            }
            if (!batch.events().isEmpty() && now - mark >= 0) {
                firstAfterMark.compareAndSet(0, now);
            }
            return CompletableFuture.completedFuture(null);
        }

        void markFrom(long nanos) {
            mark = nanos;
        }

        long firstAfterMark() {
            return firstAfterMark.get();
        }

        int distinct() {
            return byId.size();
        }

        long repeats() {
            return byId.values().stream().filter(n -> n > 1).count();
        }
    }

    /** Single-row insert transactions, one after the other, until stopped or the server goes away. */
    private static final class Load implements Runnable {
        /** At most about 2000 transactions a second: a steady load, not a flood that outruns the test's waits. */
        private static final long PACE_NANOS = TimeUnit.MICROSECONDS.toNanos(500);
        private final PostgresServer pg;
        private final int firstId;
        private final AtomicLong committed = new AtomicLong();
        private final Thread thread;
        private volatile boolean stop;

        private Load(PostgresServer pg, int firstId) {
            this.pg = pg;
            this.firstId = firstId;
            this.thread = new Thread(this, "failover-load");
        }

        static Load start(PostgresServer pg, int firstId) {
            Load load = new Load(pg, firstId);
            load.thread.start();
            return load;
        }

        @Override
        public void run() {
            Properties props = new Properties();
            props.setProperty("user", pg.user());
            props.setProperty("password", pg.password());
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl(), props);
                 PreparedStatement ps = c.prepareStatement("INSERT INTO t VALUES (?, 'v')")) {
                for (int id = firstId; !stop; id++) {
                    ps.setInt(1, id);
                    ps.executeUpdate();
                    committed.incrementAndGet();
                    LockSupport.parkNanos(PACE_NANOS);
                }
            } catch (SQLException e) {
                log.info("load on port {} ended: {}", pg.port(), e.getMessage());
            }
        }

        long committed() {
            return committed.get();
        }

        void awaitStopped() throws InterruptedException {
            thread.join(PATIENCE.toMillis());
        }

        void stop() throws InterruptedException {
            stop = true;
            awaitStopped();
        }
    }
}
