package io.deltaforge.runner.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.deltaforge.api.Lsn;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.PurgeOptions;
import io.nats.client.api.StreamConfiguration;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * nats-server and PostgreSQL go away mid-stream and come back, or the stream loses messages to an
 * operator's purge: the pipeline retries, the slot stays put while nothing can be delivered, and afterwards
 * the stream holds every change exactly once.
 */
class ServerOutagesIT {
    private static final List<String> TABLES = List.of("out_a", "out_b");

    PostgresServer pg;
    NatsServer nats;
    Connection nc;
    Pipeline pipeline;

    @BeforeEach
    void servers() throws Exception {
        pg = PostgresServer.start();
        nats = NatsServer.start();
        nc = nats.connect();
        Load.createTables(pg, TABLES, "out_pub");
        Fixture.createSlot(pg, "out_slot");
        Fixture.stream(nc, "OUT");
    }

    @AfterEach
    void stopAll() throws Exception {
        if (pipeline != null) {
            pipeline.stop(Duration.ofSeconds(5));
        }
        if (nc != null) {
            nc.close();
        }
        if (nats != null) {
            nats.close();
        }
        if (pg != null) {
            pg.close();
        }
    }

    /** Makes the stream forget message ids after 2 s: the outages and purges here last longer. */
    private Duration shortDuplicateWindow() throws Exception {
        Duration window = Duration.ofSeconds(2);
        var jsm = nc.jetStreamManagement();
        jsm.updateStream(StreamConfiguration.builder(jsm.getStreamInfo("OUT").getConfiguration())
                .duplicateWindow(window).build());
        return window;
    }

    private Pipeline startPipeline() {
        pipeline = Fixture.pipeline("outages").source(Fixture.source(pg, "out").build())
                .sink(Fixture.nats(nats, "out-nats", "OUT")).build();
        pipeline.start();
        return pipeline;
    }

    @Test
    @Timeout(120)
    void natsDownForTenSecondsLosesAndDuplicatesNothingAndTheSlotWaits() throws Exception {
        startPipeline();
        StreamReader reader = new StreamReader(nc, "OUT");
        Load load = new Load(pg, TABLES, 7, 20);
        load.start();
        Fixture.await("some changes are stored", Duration.ofSeconds(60), () -> reader.readAll().size() > 50);

        nats.stop();
        Lsn frozen = Fixture.settledConfirmedFlush(pg, "out_slot");
        int committedAtStop = load.committedCount();
        Fixture.assertSlotStays(pg, "out_slot", frozen, Duration.ofSeconds(8));
        assertThat(load.committedCount()).as("the load kept writing during the outage").isGreaterThan(committedAtStop);
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.RUNNING);

        nats.startAgain();
        int committedAtRestart = load.committedCount();
        Fixture.await("the load writes on after the outage", Duration.ofSeconds(30),
                () -> load.committedCount() > committedAtRestart + 20);
        load.stop();
        var committed = load.committed();
        List<StreamReader.Stored> stored = reader.awaitUntil(s -> s.size() >= committed.size(), Duration.ofSeconds(60));
        Checks.exactlyOnce(stored, committed);
        Fixture.await("the slot moves again", Duration.ofSeconds(30),
                () -> Objects.requireNonNull(Fixture.confirmedFlush(pg, "out_slot")).isAfter(frozen));
        assertThat(pipeline.stop(Duration.ofSeconds(10))).isTrue();
    }

    /**
     * The server goes away while batches are in flight, so part of a batch is stored and the rest is not,
     * and stays away longer than the stream's duplicate window: JetStream no longer knows the stored ids
     * when the pipeline resends. Only asking the stream what it holds keeps the resend from storing twice.
     */
    @Test
    @Timeout(180)
    void natsDownLongerThanTheDuplicateWindowInTheMiddleOfBatchesStoresEveryChangeOnce() throws Exception {
        Duration window = shortDuplicateWindow();
        startPipeline();
        StreamReader reader = new StreamReader(nc, "OUT");
        Load load = new Load(pg, TABLES, 13, 5);
        load.bulkInserts(20, 200);
        load.start();
        for (int outage = 1; outage <= 3; outage++) {
            long storedBefore = reader.count();
            Fixture.await("changes are stored again", Duration.ofSeconds(60), () -> reader.count() > storedBefore + 200);
            nats.stop();
            Thread.sleep(window.multipliedBy(2).toMillis());
            nats.startAgain();
        }
        load.stop();
        var committed = load.committed();
        List<StreamReader.Stored> stored = reader.awaitUntil(s -> s.size() >= committed.size(), Duration.ofSeconds(90));
        Checks.exactlyOnce(stored, committed);
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.RUNNING);
    }

    /**
     * The stream stored everything but the slot never moved (a second required sink never confirmed), so a
     * restart replays it all; in between, an operator purged the older half. What the stream no longer
     * holds cannot be proven stored, so it is published again; what it still holds is not.
     */
    @Test
    @Timeout(120)
    void aReplayAfterAPurgePublishesWhatWasPurgedAndNothingElseAgain() throws Exception {
        Duration window = shortDuplicateWindow();
        StreamReader reader = new StreamReader(nc, "OUT");
        Load load = new Load(pg, TABLES, 29, 0);
        load.runTransactions(200);
        int total = load.committedCount();
        MemorySink neverConfirms = new MemorySink("never-confirms");
        neverConfirms.gate = b -> new CompletableFuture<>();
        Lsn created = Fixture.confirmedFlush(pg, "out_slot");
        pipeline = Fixture.pipeline("purge").source(Fixture.source(pg, "out").build())
                .sink(Fixture.nats(nats, "out-nats", "OUT")).sink(neverConfirms).maxInFlightBatches(1000).build();
        pipeline.start();
        Fixture.await("the stream stores every change", Duration.ofSeconds(60), () -> reader.count() == total);
        pipeline.stop(Duration.ofSeconds(1));
        assertThat(Fixture.confirmedFlush(pg, "out_slot")).as("the slot never moved").isEqualTo(created);

        var jsm = nc.jetStreamManagement();
        jsm.purgeStream("OUT", PurgeOptions.builder().keep(total / 2L).build());
        // JetStream remembers the purged ids for the duplicate window; the question is what comes after it.
        Thread.sleep(window.multipliedBy(2).toMillis());
        StreamReader afterPurge = new StreamReader(nc, "OUT", jsm.getStreamInfo("OUT").getStreamState().getFirstSequence());
        startPipeline();

        List<StreamReader.Stored> stored = afterPurge.awaitUntil(s -> s.size() >= total, Duration.ofSeconds(60));
        Set<String> ids = new HashSet<>();
        stored.forEach(s -> assertThat(ids.add(s.eventId())).as("stored twice: %s", s).isTrue());
        assertThat(stored).extracting(StreamReader.Stored::change)
                .containsExactlyInAnyOrderElementsOf(load.committed().keySet());
    }

    @Test
    @Timeout(120)
    void postgresRestartedMidStreamIsReconnectedWithBackoffAndResumedFromTheSlot() throws Exception {
        startPipeline();
        StreamReader reader = new StreamReader(nc, "OUT");
        Load load = new Load(pg, TABLES, 11, 0);
        load.runTransactions(400);
        // Mid-stream: the pipeline is still reading what was just written.
        int storedBefore = reader.readAll().size();
        pg.restart();
        load.runTransactions(100);
        var committed = load.committed();
        List<StreamReader.Stored> stored = reader.awaitUntil(s -> s.size() >= committed.size(), Duration.ofSeconds(90));
        Checks.exactlyOnce(stored, committed);
        assertThat(storedBefore).as("the restart came before everything was stored").isLessThan(committed.size());
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.RUNNING);
        Lsn end = Fixture.currentWal(pg);
        Fixture.await("the slot confirms the writes after the restart", Duration.ofSeconds(30),
                () -> !end.isAfter(Objects.requireNonNull(Fixture.confirmedFlush(pg, "out_slot"))));
        assertThat(pipeline.stop(Duration.ofSeconds(10))).isTrue();
    }

    @Test
    @Timeout(120)
    void aReplicationConnectionCutInTheMiddleOfALargeTransactionReplaysItWithoutLossDuplicatesOrReordering()
            throws Exception {
        startPipeline();
        StreamReader reader = new StreamReader(nc, "OUT");
        Load load = new Load(pg, TABLES, 23, 0);
        load.runTransactions(20);
        // One transaction far larger than a batch (100 events): it goes out in many batches before its commit.
        pg.execute("INSERT INTO out_a SELECT g, 1, 'big' FROM generate_series(100000, 109999) g");
        int total = load.committedCount() + 10_000;
        // Polled often: the cut must come while the large transaction is still going out.
        await("part of the large transaction is stored").atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(5)).until(() -> reader.count() > load.committedCount());
        pg.queryString("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'out_slot'");
        long storedAtCut = reader.count();
        load.runTransactions(20);
        var committed = new java.util.LinkedHashMap<Change, Integer>();
        // The large transaction is the 21st; the load numbers its own, so give it a place between them.
        load.committed().forEach((c, tx) -> committed.put(c, tx <= 20 ? tx : tx + 1));
        for (int id = 100000; id < 110000; id++) {
            committed.put(new Change("public.out_a", id, 1, "c"), 21);
        }
        List<StreamReader.Stored> stored = reader.awaitUntil(s -> s.size() >= committed.size(),
                Duration.ofSeconds(90));
        Checks.exactlyOnce(stored, committed);
        assertThat(storedAtCut).as("the cut came before the large transaction was stored").isLessThan(total);
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.RUNNING);
    }
}
