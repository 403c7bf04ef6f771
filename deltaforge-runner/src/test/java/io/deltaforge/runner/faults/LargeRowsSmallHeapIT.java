package io.deltaforge.runner.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.runner.testsupport.RealServers;
import io.deltaforge.runner.testsupport.RunnerProcess;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backlog of large rows (256 KiB of text each, 256 MiB in all) drained by the runner with its default
 * settings in a 192 MiB heap. The reader decodes faster than JetStream stores, so what bounds the memory
 * between them is the record queue's byte budget: counted in records alone (8,192 of them) the queue
 * would take the whole backlog and the JVM would run out of memory.
 */
@Timeout(300)
class LargeRowsSmallHeapIT extends RealServers {
    private static final int ROWS = 1_000;
    private static final int ROWS_PER_TX = 100;

    @Test
    void aBacklogOfLargeRowsDrainsInASmallHeapWithTheDefaults(@TempDir Path tmp) throws Exception {
        pg.execute("CREATE TABLE big_rows (id int PRIMARY KEY, body text NOT NULL)");
        pg.execute("CREATE PUBLICATION big_pub FOR TABLE big_rows");
        pg.queryString("SELECT lsn FROM pg_create_logical_replication_slot('big_slot', 'pgoutput')");
        for (int first = 1; first <= ROWS; first += ROWS_PER_TX) {
            // 32 hex digits repeated 8,192 times: 256 KiB decoded, a few KiB of WAL once TOAST compresses it.
            pg.execute("INSERT INTO big_rows SELECT i, repeat(md5(i::text), 8192) FROM generate_series("
                    + first + ", " + (first + ROWS_PER_TX - 1) + ") i");
        }
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("BIG").subjects("big.>")
                .storageType(StorageType.File).build());
        Path config = tmp.resolve("big.yaml");
        Files.writeString(config, """
                apiVersion: deltaforge/v1
                kind: Pipeline
                metadata:
                  name: big
                spec:
                  source:
                    type: postgres
                    config:
                      dsn: ${POSTGRES_DSN}
                      slot: big_slot
                      publication: big_pub
                  sinks:
                    - type: nats
                      config:
                        url: ${NATS_URL}
                        subject: big.events
                        stream: BIG
                        envelope:
                          type: cloudevents
                          type_prefix: com.acme.big
                """);
        try (RunnerProcess runner = RunnerProcess.start(config,
                Map.of("POSTGRES_DSN", pg.dsn(), "NATS_URL", nats.url()), tmp.resolve("runner.log"),
                "-Xmx192m", "-XX:+ExitOnOutOfMemoryError")) {
            var jsm = nc.jetStreamManagement();
            Awaitility.await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200))
                    .until(() -> !runner.isAlive() || jsm.getStreamInfo("BIG").getStreamState().getMsgCount() >= ROWS);
            assertThat(runner.isAlive()).as("the runner exited:%n%s", runner.log()).isTrue();
            assertThat(jsm.getStreamInfo("BIG").getStreamState().getMsgCount()).isEqualTo(ROWS);
            assertThat(runner.terminate(Duration.ofSeconds(30))).as(runner.log()).isZero();
            assertThat(runner.log()).doesNotContain("OutOfMemoryError").doesNotContain("ERROR");
        }
    }
}
