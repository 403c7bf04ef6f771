package io.deltaforge.runner.faults;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deltaforge.runner.testsupport.RealServers;
import io.deltaforge.runner.testsupport.RunnerProcess;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A table mirrored into a KV bucket by the runner ({@code nats_kv}, initial snapshot) while a load changes
 * it, the runner killed with SIGKILL mid-snapshot and again mid-stream: once caught up, the bucket holds
 * exactly the table's rows, each with its latest values.
 */
@Timeout(180)
class KvMirrorKillNineIT extends RealServers {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theBucketEqualsTheTableRowForRowAfterKillNine(@TempDir Path tmp) throws Exception {
        Load.createTables(pg, java.util.List.of("kv_rows"), "kv_pub");
        Load load = new Load(pg, java.util.List.of("kv_rows"), 42, 5);
        load.prefill("kv_rows", 5_000);
        Path config = tmp.resolve("kv.yaml");
        Files.writeString(config, """
                apiVersion: deltaforge/v1
                kind: Pipeline
                metadata:
                  name: kv
                spec:
                  source:
                    type: postgres
                    config:
                      id: kv-postgres
                      dsn: ${POSTGRES_DSN}
                      slot: kv_slot
                      publication: kv_pub
                      status_interval_secs: 1
                      snapshot: {mode: initial, chunk_size: 500}
                  sinks:
                    - type: nats_kv
                      config:
                        id: kv-mirror
                        url: ${NATS_URL}
                        bucket: rows
                        create_bucket: true
                        envelope: native
                        key_columns: {public.kv_rows: [id]}   # REPLICA IDENTITY FULL: the source reports every column
                  batch: {max_events: 200, max_ms: 20, respect_source_tx: true}
                """);
        Map<String, String> env = Map.of("POSTGRES_DSN", pg.dsn(), "NATS_URL", nats.url());
        try (RunnerProcess first = RunnerProcess.start(config, env, tmp.resolve("1.log"), "-Xmx256m",
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")) {
            assertThat(first.awaitLog("runs while streaming", Duration.ofSeconds(60))).as(first.log()).isTrue();
            load.start();
            assertThat(first.awaitLog(" rows of ~", Duration.ofSeconds(30))).as(first.log()).isTrue();
            first.kill9();   // mid-snapshot: the first window is out, more are coming
        }
        try (RunnerProcess second = RunnerProcess.start(config, env, tmp.resolve("2.log"), "-Xmx256m",
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")) {
            assertThat(second.awaitLog("streaming slot", Duration.ofSeconds(60))).as(second.log()).isTrue();
            int before = load.committedCount();
            Awaitility.await("load while the second runner streams").atMost(Duration.ofSeconds(30))
                    .until(() -> load.committedCount() > before + 150);
            second.kill9();   // mid-stream (or still mid-snapshot), the load still running
        }
        try (RunnerProcess last = RunnerProcess.start(config, env, tmp.resolve("3.log"), "-Xmx256m",
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")) {
            Awaitility.await("some load after the restart").atMost(Duration.ofSeconds(30))
                    .until(() -> load.committedCount() > 300);
            load.stop();
            KeyValue bucket = nc.keyValue("rows");
            AtomicReference<Map<Integer, String>> mirrored = new AtomicReference<>();
            Awaitility.await("the bucket equals the table").atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> {
                        mirrored.set(rows(bucket));
                        return mirrored.get().equals(table());
                    });
            assertThat(mirrored.get()).hasSizeGreaterThan(4_000);
            assertThat(last.log()).doesNotContain("ERROR");
        }
    }

    /** id → "v|note" of every row in the table. */
    private static Map<Integer, String> table() throws Exception {
        Map<Integer, String> rows = new TreeMap<>();
        try (java.sql.Connection c = pg.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, v, note FROM kv_rows")) {
            while (rs.next()) {
                rows.put(rs.getInt(1), rs.getInt(2) + "|" + rs.getString(3));
            }
        }
        return rows;
    }

    /** id → "v|note" of every live key, from the row image stored under it; the key must match the row. */
    private static Map<Integer, String> rows(KeyValue bucket) throws Exception {
        Map<Integer, String> rows = new TreeMap<>();
        for (String key : bucket.keys("public.kv_rows.>")) {
            KeyValueEntry entry = bucket.get(key);
            if (entry == null || entry.getValue() == null) {
                continue;
            }
            JsonNode after = JSON.readTree(entry.getValue()).path("after");
            int id = after.path("id").asInt();
            assertThat(key).isEqualTo("public.kv_rows." + id);
            rows.put(id, after.path("v").asInt() + "|" + after.path("note").asText(null));
        }
        return rows;
    }
}
