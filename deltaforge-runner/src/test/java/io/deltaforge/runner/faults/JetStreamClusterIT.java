package io.deltaforge.runner.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.nats.NatsSink;
import io.deltaforge.testkit.NatsCluster;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A pipeline publishing to a stream with three replicas on a three-node JetStream cluster (the testkit's
 * {@link NatsCluster}), the sink given every node's URL. Under a sustained load the stream's leader is
 * killed with SIGKILL, the others elect a new one, and the killed node is started again later. The
 * pipeline must never fail, and the stream must hold exactly every committed change. Prints the stall (the
 * longest gap between two stored messages around the kill) and how many changes were stored out of commit
 * order: a publish the old leader never answered is resent after later ones the new leader already stored.
 */
@Timeout(600)
class JetStreamClusterIT {
    private static final List<String> TABLES = List.of("cluster_a", "cluster_b");
    private static final String STREAM = "CLUSTER";

    static PostgresServer pg;
    static NatsCluster cluster;
    static Connection nc;

    @BeforeAll
    static void servers() throws Exception {
        pg = PostgresServer.start();
        cluster = NatsCluster.start();
        nc = cluster.connect();
        Load.createTables(pg, TABLES, "cluster_pub");
        Fixture.createSlot(pg, "cluster_slot");
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name(STREAM).subjects("cluster.>")
                .storageType(StorageType.File).replicas(3).duplicateWindow(Duration.ofMinutes(30)).build());
    }

    @AfterAll
    static void stopServers() throws Exception {
        if (nc != null) {
            nc.close();
        }
        if (cluster != null) {
            cluster.close();
        }
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void killingTheStreamLeaderMidLoadLosesNothingStoresNothingTwiceAndNeverStopsThePipeline() throws Exception {
        NatsSink sink = NatsSink.builder().id("cluster-nats").url(cluster.url()).stream(STREAM)
                .subject("cluster.events").sendTimeout(Duration.ofSeconds(2)).batchTimeout(Duration.ofSeconds(5))
                .build();
        Pipeline pipeline = Fixture.pipeline("cluster").source(Fixture.source(pg, "cluster").build()).sink(sink)
                .build();
        Set<PipelineState> states = ConcurrentHashMap.newKeySet();
        ScheduledExecutorService watcher = Executors.newSingleThreadScheduledExecutor();
        StreamReader reader = new StreamReader(nc, STREAM);
        Load load = new Load(pg, TABLES, 42, 15);
        try {
            pipeline.start();
            watcher.scheduleAtFixedRate(() -> states.add(pipeline.status().state()), 0, 50, TimeUnit.MILLISECONDS);
            load.start();
            awaitStored(reader, "delivery before the kill", n -> n > 200);

            NatsServer leader = cluster.streamLeader(STREAM);
            String leaderName = cluster.name(leader);
            Instant killed = Instant.now();
            leader.kill();
            NatsServer next = cluster.awaitStreamLeader(STREAM, Duration.ofSeconds(60));
            System.out.println("JetStreamClusterIT: killed leader " + leaderName + "; " + cluster.name(next)
                    + " leads after " + Duration.between(killed, Instant.now()).toMillis() + " ms");
            int atNewLeader = storedCount(reader);
            awaitStored(reader, "delivery after the kill", n -> n > atNewLeader + 200);

            leader.startAgain();
            cluster.awaitHealthy(Duration.ofSeconds(120));
            int atRestart = storedCount(reader);
            awaitStored(reader, "delivery after the restart", n -> n > atRestart + 200);

            load.stop();
            var committed = load.committed();
            List<StreamReader.Stored> stored = reader.awaitUntil(s -> s.size() >= committed.size(),
                    Duration.ofSeconds(120));
            int inversions = Checks.exactlyOnceInAnyOrder(stored, committed);
            assertThat(states).as("states seen").doesNotContain(PipelineState.FAILED);
            assertThat(pipeline.status().state()).isEqualTo(PipelineState.RUNNING);
            // Nothing beyond what was read either (the reader stops at the committed count).
            assertThat(nc.jetStreamManagement().getStreamInfo(STREAM).getStreamState().getMsgCount())
                    .isEqualTo(committed.size());

            Gap stall = longestGap(stored, killed.minusSeconds(5), killed.plusSeconds(60));
            System.out.println("JetStreamClusterIT: " + committed.size() + " changes exactly once; stall around the "
                    + "kill: " + stall.millis() + " ms without a stored message (from " + stall.from() + "); longest "
                    + "gap of the whole run " + longestGap(stored, Instant.MIN, Instant.MAX).millis() + " ms; " + inversions
                    + " changes stored after a later change of their table (batches in flight at the election)");
        } finally {
            watcher.shutdownNow();
            load.stop();
            pipeline.stop(Duration.ofSeconds(10));
        }
    }

    /**
     * Waits until the stream holds enough; a read that fails while the cluster elects or catches up is
     * tried again.
     */
    private static void awaitStored(StreamReader reader, String what, IntPredicate enough) {
        Awaitility.await(what).atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
                .ignoreExceptions().until(() -> enough.test(reader.readAll().size()));
    }

    private static int storedCount(StreamReader reader) {
        return Awaitility.await("a read of the stream").atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> reader.readAll().size(), n -> true);
    }

    record Gap(long millis, Instant from) {
    }

    /** The longest time between two consecutive stored messages, the first stored within [from, to]. */
    private static Gap longestGap(List<StreamReader.Stored> stored, Instant from, Instant to) {
        Gap longest = new Gap(0, from);
        List<Instant> times = new ArrayList<>();
        stored.forEach(s -> times.add(s.storedAt()));
        for (int i = 1; i < times.size(); i++) {
            Instant a = times.get(i - 1);
            if (a.isBefore(from) || a.isAfter(to)) {
                continue;
            }
            long gap = Duration.between(a, times.get(i)).toMillis();
            if (gap > longest.millis()) {
                longest = new Gap(gap, a);
            }
        }
        return longest;
    }
}
