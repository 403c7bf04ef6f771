package io.deltaforge.runner.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.deltaforge.runner.testsupport.RealServers;
import io.deltaforge.runner.testsupport.RunnerProcess;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code atomic_transactions: on} under kill -9: the runner in its own JVM, killed at seeded random moments while
 * a load of transactions of 1 to 1,000 rows runs, and started again each time. A reader polls the stream's newest
 * message the whole time; it must only ever see the last change of a transaction. After every kill the stream
 * holds whole transactions only, with no change missing before them and none twice; at the end, exactly every
 * committed change.
 *
 * <p>Needs nats-server 2.12+ (skipped on older servers). Reproduce with {@code -Dchaos.seed=N}; more kills with
 * {@code -Dchaos.atomic.trials=N} (default 8, to keep the default run near a minute).
 */
@Timeout(300)
class AtomicTransactionsKillNineIT extends RealServers {
    private static final List<String> TABLES = List.of("atomic_a", "atomic_b");
    private static final String STREAM = "ATOMIC_CHAOS";
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void tablesSlotAndStream() throws Exception {
        assumeTrue(nc.getServerInfo().isSameOrNewerThanVersion("2.12.0"), "nats-server "
                + nc.getServerInfo().getVersion() + " has no atomic batch publish (needs 2.12+); the default test"
                + " run uses 2.15 (DELTAFORGE_NATS_SERVER)");
        Load.createTables(pg, TABLES, "atomic_pub");
        pg.queryString("SELECT lsn FROM pg_create_logical_replication_slot('atomic_slot', 'pgoutput')");
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name(STREAM).subjects("atomic.>")
                .storageType(StorageType.File).allowAtomicPublish(true).duplicateWindow(Duration.ofMinutes(30))
                .build());
    }

    private static Path config(Path dir) throws Exception {
        Path file = dir.resolve("atomic.yaml");
        Files.writeString(file, """
                apiVersion: deltaforge/v1
                kind: Pipeline
                metadata:
                  name: atomic
                spec:
                  source:
                    type: postgres
                    config:
                      id: atomic-postgres
                      dsn: ${POSTGRES_DSN}
                      slot: atomic_slot
                      publication: atomic_pub
                      status_interval_secs: 1
                  sinks:
                    - type: nats
                      config:
                        id: atomic-nats
                        url: ${NATS_URL}
                        subject: atomic.events
                        stream: ATOMIC_CHAOS
                        atomic_transactions: "on"
                        envelope:
                          type: cloudevents
                          type_prefix: "com.acme.atomic"
                        required: true
                  batch:
                    max_events: 50
                    max_ms: 50
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
    void noKillLosesDuplicatesOrShowsPartOfATransaction(@TempDir Path tmp) throws Exception {
        long seed = Long.getLong("chaos.seed", System.nanoTime());
        int trials = Integer.getInteger("chaos.atomic.trials", 8);
        System.out.println("AtomicTransactionsKillNineIT: seed " + seed + " (rerun with -Dchaos.seed=" + seed + "), "
                + trials + " kills");
        Random random = new Random(seed);
        Path config = config(tmp);
        StreamReader reader = new StreamReader(nc, STREAM);
        // Lighter than KillNineChaosIT's load: every atomic batch of a file stream costs the server a staging store.
        Load load = new Load(pg, TABLES, seed, 40);
        load.bulkInserts(10, 1000);
        Set<Change> newestSeen = ConcurrentHashMap.newKeySet();
        AtomicBoolean stopWatching = new AtomicBoolean();
        CompletableFuture<Void> watcher = CompletableFuture.runAsync(() -> watchNewest(newestSeen, stopWatching));
        load.start();
        for (int trial = 1; trial <= trials; trial++) {
            Path log = tmp.resolve("runner-" + trial + ".log");
            try (RunnerProcess runner = runner(config, log)) {
                assertThat(runner.awaitLog("streaming", Duration.ofSeconds(60))).as(runner.log()).isTrue();
                assertThat(runner.awaitLog("atomic batches", Duration.ofSeconds(10))).as(runner.log()).isTrue();
                Thread.sleep(800 + random.nextInt(2000));
                assertThat(runner.isAlive()).as("trial %d: the runner exited on its own:%n%s", trial, runner.log())
                        .isTrue();
                runner.kill9();
            }
            // A commit the killed runner sent may still be being applied: the stream's last sequence (where the
            // reader stops) is not isolated from it. A partial transaction that is really stored stays partial, so
            // waiting a few seconds for whole transactions hides nothing.
            List<StreamReader.Stored> stored = reader.awaitUntil(
                    s -> partialTransactions(s, load.committed()).isEmpty(), Duration.ofSeconds(10));
            LinkedHashMap<Change, Integer> committed = load.committed();
            Checks.prefixOf(stored, committed, "after kill " + trial);
            assertThat(partialTransactions(stored, committed)).as("after kill %d: transactions stored in part", trial)
                    .isEmpty();
            System.out.println("AtomicTransactionsKillNineIT: kill " + trial + " done; stream holds " + stored.size()
                    + " of " + committed.size() + " committed changes");
        }
        load.stop();
        LinkedHashMap<Change, Integer> committed = load.committed();
        try (RunnerProcess runner = runner(config, tmp.resolve("runner-final.log"))) {
            List<StreamReader.Stored> stored = reader.awaitUntil(s -> s.size() >= committed.size(),
                    Duration.ofSeconds(120));
            Checks.exactlyOnce(stored, committed);
            assertThat(runner.terminate(Duration.ofSeconds(30))).as(runner.log()).isZero();
        }
        stopWatching.set(true);
        watcher.get(30, TimeUnit.SECONDS);
        List<StreamReader.Stored> stored = reader.readAll();
        Checks.exactlyOnce(stored, committed);
        Set<Change> lastOfTransaction = lastOfEachTransaction(stored, committed);
        Set<Change> partial = new HashSet<>(newestSeen);
        partial.removeAll(lastOfTransaction);
        assertThat(newestSeen).hasSizeGreaterThan(trials);
        assertThat(partial).as("newest messages the reader saw that were not the last change of their transaction")
                .isEmpty();
        Map<Integer, Integer> perTx = new HashMap<>();
        committed.values().forEach(tx -> perTx.merge(tx, 1, Integer::sum));
        long bulk = perTx.values().stream().filter(n -> n == 1000).count();
        assertThat(bulk).as("transactions of 1,000 rows in the load").isGreaterThan(0);
        System.out.println("AtomicTransactionsKillNineIT: " + committed.size() + " changes in "
                + perTx.size() + " transactions (" + bulk + " of 1,000 rows), each stored"
                + " exactly once; the reader saw " + newestSeen.size() + " newest messages, none inside a transaction");
    }

    /** Polls the newest message of the stream (a read JetStream isolates from an atomic batch's commit). */
    private static void watchNewest(Set<Change> seen, AtomicBoolean stop) {
        try (Connection own = nats.connect()) {
            JetStreamManagement jsm = own.jetStreamManagement();
            while (!stop.get()) {
                try {
                    seen.add(StreamReader.toChange(JSON.readTree(jsm.getLastMessage(STREAM, "atomic.events").getData())));
                } catch (JetStreamApiException e) {
                    Thread.onSpinWait(); // no message yet
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("the reader of the newest message failed", e);
        }
    }

    /** The transactions of which the stream holds some changes but not all, as "tx N: stored of committed". */
    private static List<String> partialTransactions(List<StreamReader.Stored> stored, Map<Change, Integer> committed) {
        Map<Integer, Integer> storedPerTx = new HashMap<>();
        for (StreamReader.Stored s : stored) {
            storedPerTx.merge(committed.get(s.change()), 1, Integer::sum);
        }
        Map<Integer, Integer> committedPerTx = new HashMap<>();
        committed.values().forEach(tx -> committedPerTx.merge(tx, 1, Integer::sum));
        List<String> partial = new ArrayList<>();
        storedPerTx.forEach((tx, n) -> {
            if (!n.equals(committedPerTx.get(tx))) {
                partial.add("tx " + tx + ": " + n + " of " + committedPerTx.get(tx));
            }
        });
        return partial;
    }

    /** The change each transaction ends with in the stream (the load's own order of a multi-row update may differ). */
    private static Set<Change> lastOfEachTransaction(List<StreamReader.Stored> stored, Map<Change, Integer> committed) {
        Map<Integer, Change> last = new HashMap<>();
        stored.forEach(s -> last.put(committed.get(s.change()), s.change()));
        return new HashSet<>(last.values());
    }
}
