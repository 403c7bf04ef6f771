package io.deltaforge.runner.faults;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Pipeline;
import io.deltaforge.envelopes.CloudEventsEnvelope;
import io.deltaforge.nats.NatsSink;
import io.deltaforge.postgres.PostgresSource;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.jspecify.annotations.Nullable;

/** Real-server building blocks for the embedded fault tests: one name gives tables, slot and publication. */
final class Fixture {
    private Fixture() {
    }

    /** Source {@code name}, slot {@code name_slot}, publication {@code name_pub}; status every second. */
    static PostgresSource.Builder source(PostgresServer pg, String name) {
        return PostgresSource.builder().id(name).dsn(pg.dsn()).slot(name + "_slot").publication(name + "_pub")
                .statusInterval(Duration.ofSeconds(1));
    }

    static NatsSink nats(NatsServer nats, String id, String stream) {
        return NatsSink.builder().id(id).url(nats.url()).stream(stream).subject(stream.toLowerCase() + ".events")
                .sendTimeout(Duration.ofSeconds(2)).batchTimeout(Duration.ofSeconds(5)).build();
    }

    /** A file-backed stream whose duplicate window outlasts the test. */
    static void stream(Connection nc, String name) throws Exception {
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name(name)
                .subjects(name.toLowerCase() + ".>").storageType(StorageType.File)
                .duplicateWindow(Duration.ofMinutes(30)).build());
    }

    static Pipeline.Builder pipeline(String name) {
        return Pipeline.builder().name(name).envelope(CloudEventsEnvelope.withTypePrefix("com.acme.test"))
                .batch(new BatchConfig(100, 1 << 20, Duration.ofMillis(50), true))
                .retryBackoff(Duration.ofMillis(100), Duration.ofSeconds(1));
    }

    static @Nullable Lsn confirmedFlush(PostgresServer pg, String slot) {
        String text = pg.queryString("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '"
                + slot + "'");
        return text == null ? null : Lsn.parse(text);
    }

    /** The end of WAL written so far: the insert position, since the test server may not flush each commit. */
    static Lsn currentWal(PostgresServer pg) {
        return Lsn.parse(String.valueOf(pg.queryString("SELECT pg_current_wal_insert_lsn()")));
    }

    static boolean slotActive(PostgresServer pg, String slot) {
        return "t".equals(pg.queryString("SELECT active FROM pg_replication_slots WHERE slot_name = '" + slot + "'"));
    }

    static void createSlot(PostgresServer pg, String slot) {
        pg.queryString("SELECT lsn FROM pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
    }

    /** Waits until {@code condition} holds; fails with {@code what} otherwise. */
    static void await(String what, Duration timeout, Check condition) {
        Awaitility.await(what).atMost(timeout).pollInterval(Duration.ofMillis(100)).until(condition::holds);
    }

    /**
     * The slot's confirmed position once the source has reported everything it will: it has not changed for
     * two status intervals (the fixture's is one second), so a later move is not a late report.
     */
    static Lsn settledConfirmedFlush(PostgresServer pg, String slot) {
        AtomicReference<@Nullable Lsn> last = new AtomicReference<>();
        return Awaitility.await("slot " + slot + " settles").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(200)).during(Duration.ofSeconds(2))
                .until(() -> confirmedFlush(pg, slot), lsn -> lsn != null && lsn.equals(last.getAndSet(lsn)));
    }

    /**
     * Fails if the slot moves away from {@code position} within {@code period}: a position the source must not
     * acknowledge reaches the server within one status interval (one second here), so a few intervals are
     * enough for a wrong acknowledgement to show.
     */
    static void assertSlotStays(PostgresServer pg, String slot, Lsn position, Duration period) {
        Awaitility.await("slot " + slot + " stays at " + position).atMost(period.plusSeconds(5))
                .pollInterval(Duration.ofMillis(200)).during(period)
                .until(() -> position.equals(confirmedFlush(pg, slot)));
    }

    @FunctionalInterface
    interface Check {
        boolean holds() throws Exception;
    }
}
