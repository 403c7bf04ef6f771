package io.deltaforge.runner.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deltaforge.runner.testsupport.RealServers;
import io.deltaforge.runner.testsupport.RunnerProcess;
import io.nats.client.Message;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.OrderedConsumerConfiguration;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.IterableConsumer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code debezium} envelope's transaction BEGIN and END events under kill -9, with outages longer than the
 * stream's duplicate window: a runner killed at seeded random moments under a load with transactions of up to
 * 1,200 rows, left down past the window, started again. At the end every committed transaction has exactly one
 * BEGIN and one END on the transaction subject, in stream order around its events, the END counting them, and
 * no message id is stored twice. Once publishing event by event, once as atomic batches (nats-server 2.12+).
 *
 * <p>Seed: {@code -Dmarkers.seed=N}; kills per test: {@code -Dmarkers.trials=N} (default 3).
 */
@Timeout(400)
class TransactionMarkersKillNineIT extends RealServers {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration DUPLICATE_WINDOW = Duration.ofSeconds(5);
    private static final Duration DOWN = Duration.ofSeconds(7);

    @Test
    void eventByEventNoKillStoresABeginOrEndTwiceOrLosesOne(@TempDir Path tmp) throws Exception {
        chaos(tmp, "plain", "off");
    }

    @Test
    void asAtomicBatchesNoKillStoresABeginOrEndTwiceOrLosesOne(@TempDir Path tmp) throws Exception {
        assumeTrue(nc.getServerInfo().isSameOrNewerThanVersion("2.12.0"), "nats-server "
                + nc.getServerInfo().getVersion() + " has no atomic batch publish (needs 2.12+); the default test"
                + " run uses 2.15 (DELTAFORGE_NATS_SERVER)");
        chaos(tmp, "atomic", "on");
    }

    private void chaos(Path tmp, String name, String atomic) throws Exception {
        long seed = Long.getLong("markers.seed", System.nanoTime());
        int trials = Integer.getInteger("markers.trials", 3);
        System.out.println("TransactionMarkersKillNineIT " + name + ": seed " + seed + " (rerun with -Dmarkers.seed="
                + seed + "), " + trials + " kills, each down " + DOWN.toSeconds() + " s");
        List<String> tables = List.of(name + "_a", name + "_b");
        Load.createTables(pg, tables, name + "_pub");
        Fixture.createSlot(pg, name + "_slot");
        String stream = name.toUpperCase() + "_MARKERS";
        StreamConfiguration.Builder streamConfig = StreamConfiguration.builder().name(stream).subjects(name + ".>")
                .storageType(StorageType.File).duplicateWindow(DUPLICATE_WINDOW);
        if (atomic.equals("on")) {
            streamConfig.allowAtomicPublish(true);
        }
        nc.jetStreamManagement().addStream(streamConfig.build());
        Path config = config(tmp, name, stream, atomic);
        Random random = new Random(seed);
        Load load = new Load(pg, tables, seed, 10);
        load.bulkInserts(25, 1200);
        load.start();
        for (int trial = 1; trial <= trials; trial++) {
            try (RunnerProcess runner = runner(config, tmp.resolve(name + "-" + trial + ".log"))) {
                assertThat(runner.awaitLog("streaming", Duration.ofSeconds(60))).as(runner.log()).isTrue();
                Thread.sleep(800 + random.nextInt(1500));
                assertThat(runner.isAlive()).as("trial %d: the runner exited on its own:%n%s", trial, runner.log())
                        .isTrue();
                runner.kill9();
            }
            // Longer than the duplicate window: only the resume from what the stream holds keeps ids single.
            Thread.sleep(DOWN.toMillis());
        }
        load.stop();
        int changes = load.committedCount();
        Set<Integer> transactions = new HashSet<>(load.committed().values());
        List<Stored> stored;
        try (RunnerProcess runner = runner(config, tmp.resolve(name + "-final.log"))) {
            Fixture.await("every change and END stored", Duration.ofSeconds(120), () -> {
                List<Stored> all = readAll(stream);
                return all.stream().filter(s -> !s.marker()).count() >= changes
                        && all.stream().filter(s -> s.status().equals("END")).count() >= transactions.size();
            });
            stored = readAll(stream);
            assertThat(runner.terminate(Duration.ofSeconds(30))).as(runner.log()).isZero();
        }

        Set<String> ids = new HashSet<>();
        List<String> twice = stored.stream().map(Stored::msgId).filter(id -> !ids.add(id)).toList();
        assertThat(twice).as("message ids stored twice").isEmpty();
        assertThat(stored.stream().filter(s -> !s.marker()).count()).as("changes").isEqualTo(changes);
        // Per transaction (xid): BEGIN, then its events, then END counting them; nothing else of it.
        Map<String, List<Stored>> byXid = new HashMap<>();
        stored.forEach(s -> byXid.computeIfAbsent(s.xid(), x -> new ArrayList<>()).add(s));
        assertThat(byXid).as("transactions").hasSize(transactions.size());
        byXid.forEach((xid, messages) -> {
            Stored first = messages.get(0);
            Stored last = messages.get(messages.size() - 1);
            assertThat(first.status()).as("xid %s starts with BEGIN", xid).isEqualTo("BEGIN");
            assertThat(last.status()).as("xid %s ends with END", xid).isEqualTo("END");
            assertThat(messages.subList(1, messages.size() - 1)).as("xid %s: only events between", xid)
                    .allMatch(s -> !s.marker());
            assertThat(last.json().path("event_count").asLong()).as("xid %s: END's event_count", xid)
                    .isEqualTo(messages.size() - 2);
        });
        long big = byXid.values().stream().filter(m -> m.size() > 1000).count();
        assertThat(big).as("transactions of more than 1,000 rows").isPositive();
        System.out.println("TransactionMarkersKillNineIT " + name + ": " + changes + " changes in "
                + transactions.size() + " transactions (" + big + " over 1,000 rows), each with one BEGIN and one END");
    }

    /** One stored message: the debezium envelope's event or a BEGIN/END (status), with its transaction's xid. */
    private record Stored(long seq, String msgId, String status, String xid, JsonNode json) {
        boolean marker() {
            return !status.isEmpty();
        }
    }

    private static List<Stored> readAll(String stream) throws Exception {
        long last = nc.jetStreamManagement().getStreamInfo(stream).getStreamState().getLastSequence();
        List<Stored> out = new ArrayList<>();
        if (last == 0) {
            return out;
        }
        try (IterableConsumer messages = nc.getStreamContext(stream).createOrderedConsumer(
                new OrderedConsumerConfiguration().deliverPolicy(DeliverPolicy.All)).iterate()) {
            long seq = 0;
            while (seq < last) {
                Message m = messages.nextMessage(Duration.ofSeconds(10));
                assertThat(m).as("message after %d of %d in %s", seq, last, stream).isNotNull();
                seq = m.metaData().streamSequence();
                JsonNode json = JSON.readTree(m.getData());
                String msgId = String.valueOf(m.getHeaders().getFirst("Nats-Msg-Id"));
                if (m.getSubject().endsWith(".transaction")) {
                    String id = json.path("id").asText();
                    out.add(new Stored(seq, msgId, json.path("status").asText(), id.substring(0, id.indexOf(':')),
                            json));
                } else {
                    out.add(new Stored(seq, msgId, "", json.path("source").path("txId").asText(), json));
                }
            }
        }
        return out;
    }

    private static Path config(Path dir, String name, String stream, String atomic) throws Exception {
        Path file = dir.resolve(name + ".yaml");
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
                      status_interval_secs: 1
                  sinks:
                    - type: nats
                      config:
                        id: %1$s-nats
                        url: ${NATS_URL}
                        subject: "%1$s.{schema}.{table}"
                        stream: %2$s
                        atomic_transactions: "%3$s"
                        envelope:
                          type: debezium
                          provide_transaction_metadata: true
                        required: true
                  batch:
                    max_events: 50
                    max_ms: 50
                  commit_policy:
                    mode: required
                """.formatted(name, stream, atomic));
        return file;
    }

    private static RunnerProcess runner(Path config, Path log) throws Exception {
        return RunnerProcess.start(config, Map.of("POSTGRES_DSN", pg.dsn(), "NATS_URL", nats.url()), log,
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");
    }
}
