package io.deltaforge.runner.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.runner.testsupport.RealServers;
import io.deltaforge.runner.testsupport.RunnerProcess;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A backlog of large rows (256 KiB of text each, 256 MiB in all) drained by the runner with its default
 * settings in a 192 MiB heap. The reader decodes faster than JetStream stores, so what bounds the memory
 * between them is the record queue's byte budget: counted in records alone (8,192 of them) the queue
 * would take the whole backlog and the JVM would run out of memory. With either collector a runner gets: G1, the
 * JVM's own choice on two CPUs and 2 GB, and the serial one, the launcher's on one or two CPUs.
 */
@Timeout(300)
class LargeRowsSmallHeapIT extends RealServers {
    private static final int ROWS = 1_000;
    private static final int ROWS_PER_TX = 100;

    @ParameterizedTest
    @ValueSource(strings = {"G1", "Serial"})
    void aBacklogOfLargeRowsDrainsInASmallHeapWithTheDefaults(String collector, @TempDir Path tmp) throws Exception {
        String name = "big_" + collector.toLowerCase(Locale.ROOT);
        String stream = name.toUpperCase(Locale.ROOT);
        pg.execute("CREATE TABLE " + name + " (id int PRIMARY KEY, body text NOT NULL)");
        pg.execute("CREATE PUBLICATION " + name + "_pub FOR TABLE " + name);
        pg.queryString("SELECT lsn FROM pg_create_logical_replication_slot('" + name + "_slot', 'pgoutput')");
        for (int first = 1; first <= ROWS; first += ROWS_PER_TX) {
            // 32 hex digits repeated 8,192 times: 256 KiB decoded, a few KiB of WAL once TOAST compresses it.
            pg.execute("INSERT INTO " + name + " SELECT i, repeat(md5(i::text), 8192) FROM generate_series("
                    + first + ", " + (first + ROWS_PER_TX - 1) + ") i");
        }
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name(stream).subjects(name + ".>")
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
                      slot: ${NAME}_slot
                      publication: ${NAME}_pub
                  sinks:
                    - type: nats
                      config:
                        url: ${NATS_URL}
                        subject: ${NAME}.events
                        stream: ${STREAM}
                        envelope:
                          type: cloudevents
                          type_prefix: com.acme.big
                """);
        try (RunnerProcess runner = RunnerProcess.start(config,
                Map.of("POSTGRES_DSN", pg.dsn(), "NATS_URL", nats.url(), "NAME", name, "STREAM", stream),
                tmp.resolve("runner.log"), "-Xmx192m", "-XX:+Use" + collector + "GC", "-XX:+ExitOnOutOfMemoryError")) {
            var jsm = nc.jetStreamManagement();
            Awaitility.await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200))
                    .until(() -> !runner.isAlive() || jsm.getStreamInfo(stream).getStreamState().getMsgCount() >= ROWS);
            assertThat(runner.isAlive()).as("the runner exited:%n%s", runner.log()).isTrue();
            assertThat(jsm.getStreamInfo(stream).getStreamState().getMsgCount()).isEqualTo(ROWS);
            assertThat(runner.terminate(Duration.ofSeconds(30))).as(runner.log()).isZero();
            assertThat(runner.log()).doesNotContain("OutOfMemoryError").doesNotContain("ERROR");
        }
    }
}
