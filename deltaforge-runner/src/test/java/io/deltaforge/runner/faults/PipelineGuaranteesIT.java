package io.deltaforge.runner.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.api.SinkBinding;
import io.deltaforge.nats.NatsSink;
import io.deltaforge.spi.CommitPolicy;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.runner.testsupport.RealServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.nats.client.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The embedded pipeline with a real PostgreSQL source: a sink failing for good, idle slot advancement,
 * stop, and commit policies over several real sinks.
 */
@Timeout(90)
class PipelineGuaranteesIT extends RealServers {
    final List<Pipeline> pipelines = new ArrayList<>();

    @AfterEach
    void stopPipelines() {
        pipelines.forEach(p -> p.stop(Duration.ofSeconds(5)));
    }

    private Pipeline start(Pipeline.Builder builder) {
        Pipeline p = builder.build();
        pipelines.add(p);
        p.start();
        return p;
    }

    private static Lsn confirmed(String slot) {
        return Objects.requireNonNull(Fixture.confirmedFlush(pg, slot), slot);
    }

    private static void awaitConfirmedAtLeast(String slot, Lsn position) throws Exception {
        Fixture.await("slot " + slot + " confirms " + position, Duration.ofSeconds(45),
                () -> !position.isAfter(confirmed(slot)));
    }

    // ---- 5: a required sink that fails for good ------------------------------------------------------

    @Test
    void aRequiredSinkFailingForGoodStopsThePipelineNamingTheEventAndTheSlotStaysBeforeIt() throws Exception {
        Load.createTables(pg, List.of("poison_t"), "poison_pub");
        MemorySink strict = new MemorySink("strict");
        strict.poison = e -> e.after() != null && "poison".equals(e.after().get("note"));
        Pipeline p = start(Fixture.pipeline("poison").source(Fixture.source(pg, "poison").build()).sink(strict));
        pg.execute("INSERT INTO poison_t VALUES (1, 1, 'fine')");
        awaitConfirmedAtLeast("poison_slot", Fixture.currentWal(pg));

        pg.execute("INSERT INTO poison_t VALUES (2, 1, 'poison')");
        pg.execute("INSERT INTO poison_t VALUES (3, 1, 'after')");

        assertThat(p.awaitTermination(Duration.ofSeconds(30))).isTrue();
        assertThat(p.status().state()).isEqualTo(PipelineState.FAILED);
        ChangeEvent bad = strict.poisoned.get(0);
        assertThat(p.status().failure()).hasMessageContaining("sink 'strict'")
                .hasMessageContaining("public.poison_t")
                .hasMessageContaining("at LSN " + bad.position().lsn())
                .hasMessageContaining("poison row");
        assertThat(confirmed("poison_slot")).as("the slot stays before the failed event's transaction")
                .isLessThan(bad.position().commitLsn());
        assertThat(strict.delivered()).containsExactly(new Change("public.poison_t", 1, 1, "c"));

        // Nothing was skipped: a fixed sink gets the failed change and what followed it.
        MemorySink fixed = new MemorySink("fixed");
        start(Fixture.pipeline("poison-fixed").source(Fixture.source(pg, "poison").build()).sink(fixed));
        Fixture.await("the fixed sink catches up", Duration.ofSeconds(30), () -> fixed.delivered().size() >= 2);
        assertThat(fixed.delivered()).containsExactly(new Change("public.poison_t", 2, 1, "c"),
                new Change("public.poison_t", 3, 1, "c"));
    }

    // ---- 6: idle slot advancement --------------------------------------------------------------------

    @Test
    void heartbeatsConfirmWalOfUnpublishedTablesWithoutSkippingAnyPublishedChange() throws Exception {
        Load.createTables(pg, List.of("idle_pub_t"), "idle_pub");
        pg.execute("CREATE TABLE idle_other (id int PRIMARY KEY, v int NOT NULL, note text)");
        List<Change> delivered = new CopyOnWriteArrayList<>();
        Pipeline first = start(Fixture.pipeline("idle").source(Fixture.source(pg, "idle").build())
                .sink(new MemorySink("idle-sink", delivered)));

        try (java.sql.Connection open = pg.connect()) {
            // A published change in a transaction that stays open while the slot moves past its start.
            open.setAutoCommit(false);
            try (Statement st = open.createStatement()) {
                st.executeUpdate("INSERT INTO idle_pub_t VALUES (100, 1, 'open')");
            }
            for (int i = 1; i <= 5; i++) {
                pg.execute("INSERT INTO idle_other SELECT g, 1, repeat('x', 200) FROM generate_series("
                        + (i * 1000) + ", " + (i * 1000 + 499) + ") g");
                pg.execute("INSERT INTO idle_pub_t VALUES (" + i + ", 1, 'p')");
            }
            pg.execute("INSERT INTO idle_other SELECT g, 1, repeat('x', 200) FROM generate_series(90000, 90999) g");
            Lsn walEnd = Fixture.currentWal(pg);
            awaitConfirmedAtLeast("idle_slot", walEnd);
            assertThat(delivered).hasSize(5);

            // Even across a restart of the pipeline, the open transaction is not skipped.
            assertThat(first.stop(Duration.ofSeconds(10))).isTrue();
            open.commit();
        }
        start(Fixture.pipeline("idle-again").source(Fixture.source(pg, "idle").build())
                .sink(new MemorySink("idle-sink", delivered)));
        Fixture.await("the open transaction's change arrives", Duration.ofSeconds(30), () -> delivered.size() >= 6);
        List<Change> expected = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            expected.add(new Change("public.idle_pub_t", i, 1, "c"));
        }
        expected.add(new Change("public.idle_pub_t", 100, 1, "c"));
        assertThat(delivered).containsExactlyElementsOf(expected);
        awaitConfirmedAtLeast("idle_slot", Fixture.currentWal(pg));
    }

    // ---- 7: stop -------------------------------------------------------------------------------------

    @Test
    void stopDeliversWhatIsInFlightAcknowledgesItAndClosesAndASecondStopIsHarmless() throws Exception {
        List<String> tables = List.of("stop_a", "stop_b");
        Load.createTables(pg, tables, "stop_pub");
        Fixture.createSlot(pg, "stop_slot");
        Load load = new Load(pg, tables, 13, 0);
        load.runTransactions(150);
        List<Change> delivered = new CopyOnWriteArrayList<>();
        MemorySink slow = new MemorySink("slow", delivered);
        slow.gate = b -> CompletableFuture.supplyAsync(() -> null,
                CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS));
        Pipeline p = start(Fixture.pipeline("stopping").source(Fixture.source(pg, "stop").build()).sink(slow));
        Fixture.await("batches in flight", Duration.ofSeconds(30), () -> p.status().eventsReceived() > 0);

        assertThat(p.stop(Duration.ofSeconds(30))).as("everything read was delivered").isTrue();
        assertThat(p.status().state()).isEqualTo(PipelineState.STOPPED);
        assertThat(Fixture.slotActive(pg, "stop_slot")).as("the replication connection is closed").isFalse();
        assertThat(confirmed("stop_slot")).as("the slot holds the pipeline's last checkpoint")
                .isEqualTo(p.status().checkpoint());
        int deliveredAtStop = delivered.size();

        long before = System.nanoTime();
        assertThat(p.stop(Duration.ofSeconds(30))).isTrue();
        p.stop();
        assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(2));
        assertThat(p.status().state()).isEqualTo(PipelineState.STOPPED);
        assertThat(delivered).hasSize(deliveredAtStop);

        // A new pipeline resumes exactly where the stop acknowledged: no change twice, none missing.
        start(Fixture.pipeline("stopping-again").source(Fixture.source(pg, "stop").build())
                .sink(new MemorySink("slow", delivered)));
        var committed = load.committed();
        Fixture.await("the rest arrives", Duration.ofSeconds(45), () -> delivered.size() >= committed.size());
        assertThat(delivered).doesNotHaveDuplicates().hasSize(committed.size())
                .containsExactlyInAnyOrderElementsOf(committed.keySet());
    }

    // ---- 8: commit policies over several real sinks ---------------------------------------------------

    @Test
    void requiredPolicyLogsCountsAndSkipsAnOptionalSinkThatFailsWhileTheCheckpointMoves() throws Exception {
        Load.createTables(pg, List.of("req_t"), "req_pub");
        Fixture.stream(nc, "REQ");
        MemorySink broken = new MemorySink("broken");
        broken.poison = e -> true;
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Pipeline p = start(Fixture.pipeline("required").source(Fixture.source(pg, "req").build())
                .sink(Fixture.nats(nats, "req-nats", "REQ"))
                .sink(SinkBinding.of(broken).withRequired(false))
                .commitPolicy(CommitPolicy.required()).meterRegistry(registry));
        Load load = new Load(pg, List.of("req_t"), 17, 0);
        load.runTransactions(20);
        Lsn end = Fixture.currentWal(pg);

        awaitConfirmedAtLeast("req_slot", end);
        StreamReader reader = new StreamReader(nc, "REQ");
        var committed = load.committed();
        Checks.exactlyOnce(reader.awaitUntil(s -> s.size() >= committed.size(), Duration.ofSeconds(30)), committed);
        assertThat(registry.get("deltaforge.sink.failures").tag("sink", "broken").counter().count()).isPositive();
        assertThat(p.status().state()).isEqualTo(PipelineState.RUNNING);
    }

    @Test
    void anOptionalNatsSinkWhoseServerIsDownDoesNotHoldBackTheRequiredOne() throws Exception {
        Load.createTables(pg, List.of("down_t"), "down_pub");
        Fixture.stream(nc, "DOWN");
        try (NatsServer gone = NatsServer.start()) {
            try (Connection other = gone.connect()) {
                Fixture.stream(other, "GONE");
            }
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            Pipeline p = start(Fixture.pipeline("down").source(Fixture.source(pg, "down").build())
                    .sink(Fixture.nats(nats, "down-main", "DOWN"))
                    .sink(SinkBinding.of(NatsSink.builder().id("down-optional").url(gone.url()).stream("GONE")
                            .subject("gone.events").build()).withRequired(false))
                    .meterRegistry(registry));
            // Down after the start: a sink that is down at start is retried too, but see the report on
            // JetStreamPublisher.start(), which refuses a second start() after a failed one.
            gone.stop();
            StreamReader reader = new StreamReader(nc, "DOWN");
            Load load = new Load(pg, List.of("down_t"), 29, 0);
            // One transaction at a time, so that each is a batch: more than the optional sink's window.
            for (int i = 0; i < 12; i++) {
                load.runTransactions(1);
                Fixture.await("transaction " + i + " is stored", Duration.ofSeconds(30),
                        () -> reader.count() >= load.committedCount());
            }
            awaitConfirmedAtLeast("down_slot", Fixture.currentWal(pg));
            Checks.exactlyOnce(reader.readAll(), load.committed());
            assertThat(registry.get("deltaforge.sink.failures").tag("sink", "down-optional").counter().count())
                    .isPositive();
            assertThat(p.status().state()).isEqualTo(PipelineState.RUNNING);
        }
    }

    @Test
    void quorumMovesTheCheckpointOnceEnoughSinksDeliveredWhileAllWaitsForTheSlowestSink() throws Exception {
        for (String policy : List.of("quorum", "all")) {
            String name = policy + "_p";
            Load.createTables(pg, List.of(name + "_t"), name + "_pub");
            Fixture.createSlot(pg, name + "_slot");
            Fixture.stream(nc, (policy + "A").toUpperCase());
            Fixture.stream(nc, (policy + "B").toUpperCase());
            CompletableFuture<Void> gate = new CompletableFuture<>();
            MemorySink held = new MemorySink(policy + "-held");
            held.gate = b -> gate.thenApply(x -> x);
            start(Fixture.pipeline(policy).source(Fixture.source(pg, name).build())
                    .sink(Fixture.nats(nats, policy + "-a", (policy + "A").toUpperCase()))
                    .sink(SinkBinding.of(Fixture.nats(nats, policy + "-b", (policy + "B").toUpperCase()))
                            .withRequired(false))
                    .sink(SinkBinding.of(held).withRequired(false))
                    .commitPolicy(policy.equals("quorum") ? CommitPolicy.quorum(2) : CommitPolicy.all()));
            Lsn startAt = confirmed(name + "_slot");
            Load load = new Load(pg, List.of(name + "_t"), 19, 0);
            load.runTransactions(10);
            Lsn end = Fixture.currentWal(pg);
            StreamReader a = new StreamReader(nc, (policy + "A").toUpperCase());
            StreamReader b = new StreamReader(nc, (policy + "B").toUpperCase());
            a.awaitUntil(s -> s.size() >= load.committedCount(), Duration.ofSeconds(30));
            b.awaitUntil(s -> s.size() >= load.committedCount(), Duration.ofSeconds(30));
            if (policy.equals("quorum")) {
                awaitConfirmedAtLeast(name + "_slot", end);
                assertThat(held.delivered()).isEmpty();
            } else {
                // Both streams have everything, yet the third sink holds the checkpoint back.
                Fixture.assertSlotStays(pg, name + "_slot", startAt, Duration.ofSeconds(3));
            }
            gate.complete(null);
            awaitConfirmedAtLeast(name + "_slot", end);
            Fixture.await("the held sink delivers", Duration.ofSeconds(30),
                    () -> held.delivered().size() >= load.committedCount());
            var committed = load.committed();
            Checks.exactlyOnce(a.readAll(), committed);
            Checks.exactlyOnce(b.readAll(), committed);
            Set<Change> heldSet = new HashSet<>(held.delivered());
            assertThat(heldSet).hasSize(held.delivered().size()).isEqualTo(committed.keySet());
        }
    }
}
