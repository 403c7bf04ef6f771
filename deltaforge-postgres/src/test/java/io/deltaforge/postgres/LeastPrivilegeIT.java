package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.SnapshotRequest;
import io.deltaforge.nats.NatsSink;
import io.deltaforge.spi.Message;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The whole pipeline as a role with only REPLICATION, SELECT on its tables and rights on the bookkeeping
 * schema; what a role without them is told; and that a normal start leaves no ERROR in the server's log.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LeastPrivilegeIT {
    private static PostgresServer pg;
    private static NatsServer nats;

    @BeforeAll
    static void startServers() {
        pg = PostgresServer.start();
        nats = NatsServer.start();
    }

    @AfterAll
    static void stopServers() {
        if (pg != null) {
            pg.close();
        }
        if (nats != null) {
            nats.close();
        }
    }

    @Test
    void aReplicationRoleWithSchemaRightsSnapshotsAndStreamsIntoJetStreamWithoutServerErrors() throws Exception {
        long logStart = Files.size(pg.logFile());
        pg.execute("CREATE TABLE public.lp_t (id int PRIMARY KEY, v text)");
        pg.execute("INSERT INTO public.lp_t SELECT g, 'v' || g FROM generate_series(1, 50) g");
        pg.execute("CREATE PUBLICATION lp_pub FOR TABLE public.lp_t");
        pg.execute("CREATE ROLE lp LOGIN REPLICATION PASSWORD 'pw'");
        pg.execute("GRANT SELECT ON public.lp_t TO lp");
        pg.execute("CREATE SCHEMA deltaforge");
        pg.execute("GRANT USAGE, CREATE ON SCHEMA deltaforge TO lp");
        String dsn = "postgres://lp:pw@" + pg.host() + ":" + pg.port() + "/" + pg.database();
        try (Connection nc = nats.connect()) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            jsm.addStream(StreamConfiguration.builder().name("LP").subjects("lp.>")
                    .storageType(StorageType.Memory).duplicateWindow(Duration.ofMinutes(10)).build());
            // A first start: no bookkeeping table exists yet, and no statement may fail for want of one.
            try (Pipeline pipeline = pipeline(dsn, "lp")) {
                pipeline.start();
                awaitActiveSlot("lp_slot");
                pg.execute("INSERT INTO public.lp_t SELECT g, 'v' || g FROM generate_series(51, 60) g");
                await().atMost(Duration.ofSeconds(60)).until(() -> count(jsm, "LP") == 10);
                pipeline.snapshot(SnapshotRequest.of("public.lp_t"));
                await().atMost(Duration.ofSeconds(60)).until(() -> count(jsm, "LP") == 70);
            }
            // A second start reads the bookkeeping tables that now exist.
            try (Pipeline pipeline = pipeline(dsn, "lp")) {
                pipeline.start();
                pg.execute("INSERT INTO public.lp_t VALUES (61, 'v61')");
                await().atMost(Duration.ofSeconds(60)).until(() -> count(jsm, "LP") == 71);
            }
        }
        assertThat(pg.queryString("SELECT count(*) FROM deltaforge.deltaforge_snapshots WHERE slot = 'lp_slot'"))
                .isEqualTo("1");
        String log = Files.readString(pg.logFile()).substring((int) logStart);
        assertThat(log.lines().filter(l -> l.contains("ERROR:")).toList()).as("server log:\n%s", log).isEmpty();
    }

    @Test
    void aRoleThatMayNotCreateTheBookkeepingSchemaIsToldTheGrants() {
        pg.execute("CREATE TABLE public.deny_t (id int PRIMARY KEY)");
        pg.execute("CREATE PUBLICATION deny_pub FOR TABLE public.deny_t");
        pg.execute("CREATE ROLE deny LOGIN REPLICATION PASSWORD 'pw'");
        pg.execute("GRANT SELECT ON public.deny_t TO deny");
        String dsn = "postgres://deny:pw@" + pg.host() + ":" + pg.port() + "/" + pg.database();
        try (PostgresSource source = PostgresSource.builder().id("deny").dsn(dsn).slot("deny_slot")
                .publication("deny_pub").bookkeepingSchema("deny_books").snapshot(SnapshotMode.INITIAL, 100).build()) {
            assertThatThrownBy(source::start).isInstanceOf(DeltaforgeException.class)
                    .hasMessageContaining("GRANT CREATE ON DATABASE \"" + pg.database() + "\" TO \"deny\";")
                    .hasMessageContaining("CREATE SCHEMA IF NOT EXISTS \"deny_books\"; GRANT USAGE, CREATE ON SCHEMA "
                            + "\"deny_books\" TO \"deny\";");
        }
        pg.execute("CREATE SCHEMA deny_books");
        pg.execute("GRANT USAGE ON SCHEMA deny_books TO deny");
        try (PostgresSource source = PostgresSource.builder().id("deny").dsn(dsn).slot("deny_slot")
                .publication("deny_pub").bookkeepingSchema("deny_books").snapshot(SnapshotMode.INITIAL, 100).build()) {
            assertThatThrownBy(source::start).isInstanceOf(DeltaforgeException.class)
                    .hasMessageContaining("GRANT USAGE, CREATE ON SCHEMA \"deny_books\" TO \"deny\";");
        }
    }

    @Test
    void tablesOfAnEarlierVersionInPublicAreMovedIntoTheBookkeepingSchema() {
        pg.execute("CREATE TABLE public.old_t (id int PRIMARY KEY)");
        pg.execute("CREATE PUBLICATION old_pub FOR TABLE public.old_t");
        pg.execute("CREATE TABLE public.deltaforge_snapshots (slot text PRIMARY KEY, snapshot_id text, "
                + "completed_at timestamptz)");
        pg.execute("INSERT INTO public.deltaforge_snapshots VALUES ('other_slot', 'other_slot@0/1', now())");
        try (PostgresSource source = PostgresSource.builder().id("old").dsn(pg.dsn()).slot("old_slot")
                .publication("old_pub").bookkeepingSchema("moved").build()) {
            source.start();
        }
        assertThat(pg.queryString("SELECT to_regclass('public.deltaforge_snapshots') IS NULL")).isEqualTo("t");
        assertThat(pg.queryString("SELECT string_agg(slot, ',' ORDER BY slot) FROM moved.deltaforge_snapshots"))
                .isEqualTo("old_slot,other_slot");
    }

    private static void awaitActiveSlot(String slot) {
        await().atMost(Duration.ofSeconds(60)).until(() -> "t".equals(
                pg.queryString("SELECT active FROM pg_replication_slots WHERE slot_name = '" + slot + "'")));
    }

    private static long count(JetStreamManagement jsm, String stream) throws Exception {
        return jsm.getStreamInfo(stream).getStreamState().getMsgCount();
    }

    private static Pipeline pipeline(String dsn, String name) {
        PostgresSource source = PostgresSource.builder().id(name).dsn(dsn).slot(name + "_slot")
                .publication(name + "_pub").statusInterval(Duration.ofSeconds(1)).snapshot(SnapshotMode.NEVER, 20).build();
        NatsSink sink = NatsSink.builder().id("nats").url(nats.url()).stream(name.toUpperCase())
                .subject(name + ".events").sendTimeout(Duration.ofSeconds(5)).build();
        return Pipeline.builder().name(name).source(source).sink(sink)
                .envelope(e -> new Message(e.id(), Map.of(), "text/plain",
                        (e.op().code() + ":" + e.after().get("id")).getBytes(StandardCharsets.UTF_8)))
                .batch(new BatchConfig(100, 1 << 20, Duration.ofMillis(20), true))
                .build();
    }
}
