package io.deltaforge.runner.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.runner.testsupport.RunnerProcess;
import io.deltaforge.runner.testsupport.RealServers;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner jar in its own JVM, killed with SIGKILL at seeded random moments while a sustained load
 * writes to two tables, and started again each time. After every kill the stream must hold a gap-free,
 * duplicate-free prefix of the committed changes in commit order per table; at the end, with the load
 * finished and the pipeline caught up, exactly every committed change.
 *
 * <p>Reproduce a run with {@code -Dchaos.seed=N}; change the number of kills with {@code -Dchaos.trials=N}
 * (at least 20 by default).
 */
@Timeout(300)
class KillNineChaosIT extends RealServers {
    private static final List<String> TABLES = List.of("chaos_a", "chaos_b");
    private static final String STREAM = "CHAOS";


    @BeforeAll
    static void chaosTablesSlotAndStream() throws Exception {
        Load.createTables(pg, TABLES, "chaos_pub");
        // The slot exists before the load starts, as in production: changes before it are not the pipeline's.
        pg.queryString("SELECT lsn FROM pg_create_logical_replication_slot('chaos_slot', 'pgoutput')");
        // Longer than the whole test: every replay after a kill falls inside it.
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name(STREAM).subjects("chaos.>")
                .storageType(StorageType.File).duplicateWindow(Duration.ofMinutes(30)).build());
    }

    private static Path config(Path dir) throws Exception {
        Path file = dir.resolve("chaos.yaml");
        Files.writeString(file, """
                apiVersion: deltaforge/v1
                kind: Pipeline
                metadata:
                  name: chaos
                spec:
                  source:
                    type: postgres
                    config:
                      id: chaos-postgres
                      dsn: ${POSTGRES_DSN}
                      slot: chaos_slot
                      publication: chaos_pub
                      status_interval_secs: 1
                  sinks:
                    - type: nats
                      config:
                        id: chaos-nats
                        url: ${NATS_URL}
                        subject: chaos.events
                        stream: CHAOS
                        envelope:
                          type: cloudevents
                          type_prefix: "com.acme.chaos"
                        required: true
                        send_timeout_secs: 5
                        batch_timeout_secs: 30
                  batch:
                    max_events: 50
                    max_ms: 50
                    respect_source_tx: true
                  commit_policy:
                    mode: required
                """);
        return file;
    }

    private static RunnerProcess runner(Path config, Path log) throws Exception {
        return RunnerProcess.start(config, Map.of("POSTGRES_DSN", pg.dsn(), "NATS_URL", nats.url()), log,
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");
    }

    @Test
    void everyCommittedChangeIsStoredExactlyOnceInCommitOrderAcrossRepeatedKillNine(@TempDir Path tmp)
            throws Exception {
        long seed = Long.getLong("chaos.seed", System.nanoTime());
        int trials = Integer.getInteger("chaos.trials", 20);
        System.out.println("KillNineChaosIT: seed " + seed + " (rerun with -Dchaos.seed=" + seed + "), "
                + trials + " kills");
        Random random = new Random(seed);
        Path config = config(tmp);
        StreamReader reader = new StreamReader(nc, STREAM);
        Load load = new Load(pg, TABLES, seed, 15);
        load.start();
        int midStream = 0;
        for (int trial = 1; trial <= trials; trial++) {
            Path log = tmp.resolve("runner-" + trial + ".log");
            try (RunnerProcess runner = runner(config, log)) {
                // Every fourth kill during start-up, the others mid-stream: a fixed share, so that no seed
                // leaves too few mid-stream kills for the assertion below.
                boolean early = trial % 4 == 0;
                if (!early) {
                    assertThat(runner.awaitLog("streaming", Duration.ofSeconds(60))).as(runner.log()).isTrue();
                    midStream++;
                }
                // The random moment: during start-up, or while batches are in flight.
                Thread.sleep(random.nextInt(early ? 2500 : 1500));
                assertThat(runner.isAlive()).as("trial %d: the runner exited on its own:%n%s", trial, runner.log())
                        .isTrue();
                runner.kill9();
            }
            List<StreamReader.Stored> stored = reader.readAll();
            Checks.prefixOf(stored, load.committed(), "after kill " + trial);
            System.out.println("KillNineChaosIT: kill " + trial + " done; stream holds " + stored.size() + " of "
                    + load.committedCount() + " committed changes");
        }
        load.stop();
        var committed = load.committed();
        try (RunnerProcess runner = runner(config, tmp.resolve("runner-final.log"))) {
            List<StreamReader.Stored> stored = reader.awaitUntil(s -> s.size() >= committed.size(),
                    Duration.ofSeconds(120));
            Checks.exactlyOnce(stored, committed);
            assertThat(runner.terminate(Duration.ofSeconds(30))).as(runner.log()).isZero();
        }
        // Nothing more arrives after a clean stop either.
        Checks.exactlyOnce(reader.readAll(), committed);
        assertThat(midStream).isGreaterThan(trials / 2);
        assertThat(committed.size()).isGreaterThan(trials * 10);
        System.out.println("KillNineChaosIT: " + committed.size() + " changes, each stored exactly once");
    }
}
