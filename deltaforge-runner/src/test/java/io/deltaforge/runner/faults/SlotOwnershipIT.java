package io.deltaforge.runner.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.api.RetryableException;
import io.deltaforge.postgres.PostgresSource;
import io.deltaforge.runner.testsupport.RealServers;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Who may read a slot: one reader at a time (a second one waits, which makes a simple active/passive
 * standby), and a slot that disappears under a running pipeline stops it instead of being recreated.
 */
@Timeout(120)
class SlotOwnershipIT extends RealServers {
    final List<Pipeline> pipelines = new ArrayList<>();

    @AfterEach
    void stopPipelines() {
        pipelines.forEach(p -> p.stop(Duration.ofSeconds(5)));
    }

    private Pipeline pipeline(String name, PostgresSource source, String stream) {
        Pipeline p = Fixture.pipeline(name).source(source).sink(Fixture.nats(nats, name + "-nats", stream))
                .retryBackoff(Duration.ofMillis(200), Duration.ofSeconds(1)).build();
        pipelines.add(p);
        return p;
    }

    @Test
    void aSecondReaderOfTheSameSlotWaitsWithAClearMessageAndTakesOverWhenTheFirstStops() throws Exception {
        List<String> tables = List.of("standby_a", "standby_b");
        Load.createTables(pg, tables, "standby_pub");
        Fixture.stream(nc, "STANDBY");
        StreamReader reader = new StreamReader(nc, "STANDBY");
        Load load = new Load(pg, tables, 3, 0);

        Pipeline active = pipeline("active", Fixture.source(pg, "standby").build(), "STANDBY");
        active.start();
        assertThat(active.status().state()).isEqualTo(PipelineState.RUNNING);

        // A source that finds the slot held waits as a standby: started, nothing read, not ready, saying why.
        PostgresSource probe = Fixture.source(pg, "standby").build();
        probe.start();
        assertThat(probe.poll(Duration.ofMillis(300))).isNull();
        String activePid = pg.queryString("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'standby_slot'");
        assertThat(probe.degraded()).isEqualTo("waiting for slot standby_slot held by pid " + activePid
                + " (another reader, e.g. the active runner); this source takes over when it lets go");
        probe.close();

        Pipeline standby = pipeline("standby", Fixture.source(pg, "standby").build(), "STANDBY");
        standby.start();
        load.runTransactions(50);
        Fixture.await("the active pipeline delivers", Duration.ofSeconds(60),
                () -> reader.readAll().size() == load.committedCount());
        assertThat(standby.status().ready()).isFalse();
        assertThat(standby.status().degraded()).startsWith("waiting for slot standby_slot held by pid " + activePid);
        assertThat(standby.status().eventsReceived()).isZero();

        assertThat(active.stop(Duration.ofSeconds(10))).isTrue();
        load.runTransactions(50);
        Fixture.await("the standby takes over", Duration.ofSeconds(60), () -> standby.status().ready());
        var committed = load.committed();
        Checks.exactlyOnce(reader.awaitUntil(s -> s.size() >= committed.size(), Duration.ofSeconds(60)), committed);
    }

    @Test
    void aSlotDroppedUnderARunningPipelineStopsItWithAClearError() throws Exception {
        List<String> tables = List.of("dropped_a");
        Load.createTables(pg, tables, "dropped_pub");
        Fixture.createSlot(pg, "dropped_slot");
        Fixture.stream(nc, "DROPPED");
        Pipeline p = pipeline("dropped", Fixture.source(pg, "dropped").createSlot(false).build(), "DROPPED");
        p.start();
        Load load = new Load(pg, tables, 5, 0);
        load.runTransactions(10);
        StreamReader reader = new StreamReader(nc, "DROPPED");
        Fixture.await("delivery", Duration.ofSeconds(60), () -> reader.readAll().size() == load.committedCount());

        dropSlotUnderItsReader("dropped_slot");
        load.runTransactions(10);

        assertThat(p.awaitTermination(Duration.ofSeconds(60))).isTrue();
        assertThat(p.status().state()).isEqualTo(PipelineState.FAILED);
        assertThat(p.status().failure()).isInstanceOf(DeltaforgeException.class)
                .isNotInstanceOf(RetryableException.class)
                .hasMessageContaining("replication slot 'dropped_slot' does not exist");
        assertThat(pg.queryString("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'dropped_slot'"))
                .isEqualTo("0");
    }

    @Test
    void aSlotDroppedUnderARunningPipelineIsNeverSilentlyRecreated() throws Exception {
        List<String> tables = List.of("recreated_a");
        Load.createTables(pg, tables, "recreated_pub");
        Fixture.stream(nc, "RECREATED");
        Pipeline p = pipeline("recreated", Fixture.source(pg, "recreated").build(), "RECREATED");
        p.start();
        Load load = new Load(pg, tables, 5, 0);
        load.runTransactions(10);
        StreamReader reader = new StreamReader(nc, "RECREATED");
        Fixture.await("delivery", Duration.ofSeconds(60), () -> reader.readAll().size() == load.committedCount());

        dropSlotUnderItsReader("recreated_slot");
        load.runTransactions(10);

        assertThat(p.awaitTermination(Duration.ofSeconds(60))).isTrue();
        assertThat(p.status().state()).isEqualTo(PipelineState.FAILED);
        assertThat(p.status().failure()).hasMessageContaining("recreated_slot").hasMessageContaining("not recreated");
    }

    /** Ends the walsender and drops the slot before the source's reconnect can take it again. */
    private static void dropSlotUnderItsReader(String slot) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            try (java.sql.Connection c = pg.connect(); java.sql.Statement st = c.createStatement()) {
                st.execute("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '"
                        + slot + "' AND active_pid IS NOT NULL");
                // Terminating is asynchronous: the slot is released a moment later.
                for (int i = 0; i < 50; i++) {
                    try {
                        st.execute("SELECT pg_drop_replication_slot('" + slot + "')");
                        return;
                    } catch (java.sql.SQLException e) {
                        if (!"55006".equals(e.getSQLState())) {
                            throw e;
                        }
                        Thread.sleep(10);
                    }
                }
            }
        }
        throw new AssertionError("could not drop slot " + slot);
    }
}
