package io.deltaforge.runner.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.runner.testsupport.RealServers;
import io.deltaforge.runner.testsupport.RunnerProcess;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly once beyond JetStream's duplicate window: a stream that forgets message ids after 5 s, a runner
 * killed with SIGKILL under load and left down for 8 s each time, then started again. Only the engine's
 * resume from what the stream holds ({@code Sink.storedSince}) keeps the replay from storing events twice;
 * the source keeps its default status interval (10 s), as a new user's would.
 *
 * <p>Trials per test: {@code -Dwindow.trials=N} (defaults below keep the class near two and a half
 * minutes); the seed: {@code -Dwindow.seed=N}.
 */
@Timeout(600)
class BeyondDuplicateWindowIT extends RealServers {
    private static final String STREAM = "WINDOW";
    private static final Duration DUPLICATE_WINDOW = Duration.ofSeconds(5);
    private static final Duration DOWN = Duration.ofSeconds(8);

    /** One pipeline: its tables (and so its publication and slot) and the subject (template) it publishes to. */
    private record Spec(String name, List<String> tables, String subject) {
    }

    @BeforeEach
    void freshStream() throws Exception {
        var jsm = nc.jetStreamManagement();
        if (jsm.getStreamNames().contains(STREAM)) {
            jsm.deleteStream(STREAM);
        }
        jsm.addStream(StreamConfiguration.builder().name(STREAM).subjects("window.>")
                .storageType(StorageType.File).duplicateWindow(DUPLICATE_WINDOW).build());
    }

    @Test
    void killNineWithOutagesLongerThanTheWindowStoresEveryChangeOnce(@TempDir Path tmp) throws Exception {
        chaos(tmp, 3, new Spec("one", List.of("w_one_a", "w_one_b"), "window.one.events"));
    }

    @Test
    void theSameWithASubjectPerTable(@TempDir Path tmp) throws Exception {
        chaos(tmp, 2, new Spec("tables", List.of("w_tab_a", "w_tab_b"), "window.tables.{table}"));
    }

    @Test
    void theSameWithTwoPipelinesSharingTheStream(@TempDir Path tmp) throws Exception {
        chaos(tmp, 2, new Spec("left", List.of("w_left_a", "w_left_b"), "window.left.{table}"),
                new Spec("right", List.of("w_right"), "window.right.events"));
    }

    /**
     * Started again while nats-server is down, which stays down longer than the window: the sink starts only
     * when the server is back, and is asked what the stream holds then, not at the first replayed event.
     */
    @Test
    void aRestartWhileNatsIsDownStoresEveryChangeOnce(@TempDir Path tmp) throws Exception {
        Spec spec = new Spec("late", List.of("w_late_a", "w_late_b"), "window.late.events");
        Load.createTables(pg, spec.tables(), "late_pub");
        Fixture.createSlot(pg, "late_slot");
        Path config = config(tmp, spec);
        StreamReader reader = new StreamReader(nc, STREAM);
        Load load = new Load(pg, spec.tables(), Long.getLong("window.seed", System.nanoTime()), 5);
        load.bulkInserts(100, 500);
        load.start();
        try (RunnerProcess first = runner(config, tmp.resolve("late-1.log"))) {
            assertThat(first.awaitLog("streaming", Duration.ofSeconds(60))).as(first.log()).isTrue();
            Fixture.await("changes are stored", Duration.ofSeconds(60), () -> reader.count() > 1000);
            first.kill9();
        }
        nats.stop();
        try (RunnerProcess second = runner(config, tmp.resolve("late-2.log"))) {
            try {
                Thread.sleep(DOWN.toMillis());
            } finally {
                nats.startAgain();
            }
            load.stop();
            LinkedHashMap<Change, Integer> committed = load.committed();
            List<StreamReader.Stored> stored = reader.awaitUntil(s -> s.size() >= committed.size(),
                    Duration.ofSeconds(120));
            Checks.exactlyOnce(stored, committed);
            assertThat(second.terminate(Duration.ofSeconds(30))).as(second.log()).isZero();
        }
    }

    private void chaos(Path tmp, int defaultTrials, Spec... specs) throws Exception {
        long seed = Long.getLong("window.seed", System.nanoTime());
        int trials = Integer.getInteger("window.trials", defaultTrials);
        System.out.println("BeyondDuplicateWindowIT: seed " + seed + " (rerun with -Dwindow.seed=" + seed + "), "
                + trials + " kills of " + specs.length + " pipeline(s), each down " + DOWN.toSeconds() + " s");
        Random random = new Random(seed);
        List<String> allTables = new ArrayList<>();
        List<Path> configs = new ArrayList<>();
        for (Spec spec : specs) {
            Load.createTables(pg, spec.tables(), spec.name() + "_pub");
            Fixture.createSlot(pg, spec.name() + "_slot");
            allTables.addAll(spec.tables());
            configs.add(config(tmp, spec));
        }
        StreamReader reader = new StreamReader(nc, STREAM);
        Load load = new Load(pg, allTables, seed, 5);
        load.bulkInserts(100, 500);
        load.start();
        for (int trial = 1; trial <= trials; trial++) {
            List<RunnerProcess> runners = new ArrayList<>();
            try {
                for (int p = 0; p < specs.length; p++) {
                    runners.add(runner(configs.get(p), tmp.resolve(specs[p].name() + "-" + trial + ".log")));
                }
                for (RunnerProcess runner : runners) {
                    assertThat(runner.awaitLog("streaming", Duration.ofSeconds(60))).as(runner.log()).isTrue();
                }
                // Killed while it catches up with the last outage's backlog: batches in flight, acks unreported,
                // often in the middle of a 500-row transaction that is acknowledged only at its end.
                Thread.sleep(500 + random.nextInt(1500));
                for (RunnerProcess runner : runners) {
                    assertThat(runner.isAlive()).as("trial %d: the runner exited on its own:%n%s", trial,
                            runner.log()).isTrue();
                    runner.kill9();
                }
            } finally {
                closeAll(runners);
            }
            List<StreamReader.Stored> stored = reader.readAll();
            for (Spec spec : specs) {
                Checks.prefixOf(of(spec, stored), of(spec, load.committed()), spec.name() + ", after kill " + trial);
            }
            System.out.println("BeyondDuplicateWindowIT: kill " + trial + " done; stream holds " + stored.size()
                    + " of " + load.committedCount() + " committed changes");
            // The outage: longer than the duplicate window, so JetStream no longer knows the ids it stored.
            Thread.sleep(DOWN.toMillis());
        }
        load.stop();
        LinkedHashMap<Change, Integer> committed = load.committed();
        List<RunnerProcess> runners = new ArrayList<>();
        try {
            for (int p = 0; p < specs.length; p++) {
                runners.add(runner(configs.get(p), tmp.resolve(specs[p].name() + "-final.log")));
            }
            List<StreamReader.Stored> stored = reader.awaitUntil(s -> s.size() >= committed.size(),
                    Duration.ofSeconds(120));
            for (Spec spec : specs) {
                Checks.exactlyOnce(of(spec, stored), of(spec, committed));
            }
            for (RunnerProcess runner : runners) {
                assertThat(runner.terminate(Duration.ofSeconds(30))).as(runner.log()).isZero();
            }
        } finally {
            closeAll(runners);
        }
        assertThat(committed.size()).isGreaterThan(trials * 500);
        System.out.println("BeyondDuplicateWindowIT: " + committed.size() + " changes, each stored exactly once");
    }

    private static void closeAll(List<RunnerProcess> runners) throws InterruptedException {
        for (RunnerProcess runner : runners) {
            runner.close();
        }
    }

    private static List<StreamReader.Stored> of(Spec spec, List<StreamReader.Stored> stored) {
        return stored.stream().filter(s -> spec.tables().contains(bare(s.change().table()))).toList();
    }

    private static LinkedHashMap<Change, Integer> of(Spec spec, LinkedHashMap<Change, Integer> committed) {
        LinkedHashMap<Change, Integer> out = new LinkedHashMap<>();
        committed.forEach((change, tx) -> {
            if (spec.tables().contains(bare(change.table()))) {
                out.put(change, tx);
            }
        });
        return out;
    }

    private static String bare(String table) {
        return table.substring(table.indexOf('.') + 1);
    }

    private static Path config(Path dir, Spec spec) throws Exception {
        Path file = dir.resolve(spec.name() + ".yaml");
        Files.writeString(file, """
                apiVersion: deltaforge/v1
                kind: Pipeline
                metadata:
                  name: %1$s
                spec:
                  source:
                    type: postgres
                    config:
                      id: %1$s-postgres
                      dsn: ${POSTGRES_DSN}
                      slot: %1$s_slot
                      publication: %1$s_pub
                  sinks:
                    - type: nats
                      config:
                        id: %1$s-nats
                        url: ${NATS_URL}
                        subject: "%2$s"
                        stream: WINDOW
                        envelope:
                          type: cloudevents
                          type_prefix: "com.acme.window"
                        required: true
                        send_timeout_secs: 5
                        batch_timeout_secs: 30
                  batch:
                    max_events: 50
                    max_ms: 50
                    respect_source_tx: true
                  commit_policy:
                    mode: required
                """.formatted(spec.name(), spec.subject()));
        return file;
    }

    private static RunnerProcess runner(Path config, Path log) throws Exception {
        return RunnerProcess.start(config, Map.of("POSTGRES_DSN", pg.dsn(), "NATS_URL", nats.url()), log,
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");
    }
}
