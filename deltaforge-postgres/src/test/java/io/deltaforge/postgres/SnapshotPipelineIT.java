package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.SnapshotRequest;
import io.deltaforge.nats.NatsSink;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.Sink;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Snapshots through a real pipeline into JetStream: what the consumer sees after stops and restarts. */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class SnapshotPipelineIT {
    private static PostgresServer pg;
    private static NatsServer nats;

    @BeforeAll
    static void startServers() {
        pg = PostgresServer.start();
        nats = NatsServer.start();
    }

    @AfterAll
    static void stopServers() {
        if (pg != null) {
            pg.close();
        }
        if (nats != null) {
            nats.close();
        }
    }

    @Test
    void anIncrementalSnapshotStoppedMidwayResumesWithoutDuplicatesOrGapsInJetStream() throws Exception {
        pg.execute("CREATE TABLE public.resume_t (id int PRIMARY KEY, v text)");
        pg.execute("INSERT INTO public.resume_t SELECT g, 'v' || g FROM generate_series(1, 3000) g");
        pg.execute("CREATE PUBLICATION resume_pub FOR TABLE public.resume_t");
        try (Connection nc = nats.connect()) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            jsm.addStream(StreamConfiguration.builder().name("RESUME").subjects("resume.>")
                    .storageType(StorageType.File).duplicateWindow(Duration.ofMinutes(30)).build());

            List<ChangeEvent> first = Collections.synchronizedList(new ArrayList<>());
            try (Pipeline pipeline = pipeline(first, "resume", SnapshotMode.NEVER, 30)) {
                pipeline.start();
                pipeline.snapshot(SnapshotRequest.of("public.resume_t"));
                await(() -> rowsDone() >= 600);
            } // stopped mid-snapshot
            long doneAtStop = rowsDone();
            assertThat(state()).isNotEqualTo("done");
            assertThat(doneAtStop).isLessThan(3000);

            List<ChangeEvent> second = Collections.synchronizedList(new ArrayList<>());
            try (Pipeline pipeline = pipeline(second, "resume", SnapshotMode.NEVER, 0)) {
                pipeline.start();
                await(() -> "done".equals(state()));
            }
            // Resumed after the last acknowledged chunk, not from zero.
            assertThat(second.size()).isLessThanOrEqualTo(3000 - (int) doneAtStop);
            assertThat(second).extracting(e -> e.after().get("id")).doesNotHaveDuplicates()
                    .doesNotContain((long) doneAtStop);

            // JetStream holds every row exactly once, whatever was re-sent.
            long count = jsm.getStreamInfo("RESUME").getStreamState().getMsgCount();
            assertThat(count).isEqualTo(3000);
            Map<String, Integer> seen = new HashMap<>();
            for (long seq = 1; seq <= count; seq++) {
                String payload = new String(jsm.getMessage("RESUME", seq).getData(), StandardCharsets.UTF_8);
                seen.merge(payload, 1, Integer::sum);
            }
            assertThat(seen).hasSize(3000);
            for (int id = 1; id <= 3000; id++) {
                assertThat(seen).containsKey("r:" + id);
            }
        }
    }

    @Test
    void anInitialSnapshotStoppedMidwayResumesOnTheSameSlotWithoutDuplicatesOrGapsInJetStream() throws Exception {
        pg.execute("CREATE TABLE public.initial_t (id int PRIMARY KEY, v text)");
        pg.execute("INSERT INTO public.initial_t SELECT g, 'v' || g FROM generate_series(1, 3000) g");
        pg.execute("CREATE PUBLICATION initial_pub FOR TABLE public.initial_t");
        try (Connection nc = nats.connect()) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            jsm.addStream(StreamConfiguration.builder().name("INITIAL").subjects("initial.>")
                    .storageType(StorageType.File).duplicateWindow(Duration.ofMinutes(30)).build());
            List<ChangeEvent> first = Collections.synchronizedList(new ArrayList<>());
            String snapshotId;
            try (Pipeline pipeline = pipeline(first, "initial", SnapshotMode.INITIAL, 30)) {
                pipeline.start();
                await(() -> rowsDone("initial_slot") >= 600);
                snapshotId = pg.queryString("SELECT snapshot_id FROM deltaforge.deltaforge_snapshots WHERE slot = 'initial_slot'");
            }
            long doneAtStop = rowsDone("initial_slot");
            assertThat(doneAtStop).isLessThan(3000);
            List<ChangeEvent> second = Collections.synchronizedList(new ArrayList<>());
            try (Pipeline pipeline = pipeline(second, "initial", SnapshotMode.INITIAL, 0)) {
                pipeline.start();
                await(() -> "t".equals(pg.queryString("SELECT completed_at IS NOT NULL FROM deltaforge.deltaforge_snapshots "
                        + "WHERE slot = 'initial_slot'")));
            }
            assertThat(snapshotId).startsWith("initial_slot@");
            assertThat(pg.queryString("SELECT snapshot_id FROM deltaforge.deltaforge_snapshots WHERE slot = 'initial_slot'"))
                    .as("same slot and snapshot, not recreated").isEqualTo(snapshotId);
            assertThat(second.size()).isLessThanOrEqualTo(3000 - (int) doneAtStop);
            long count = jsm.getStreamInfo("INITIAL").getStreamState().getMsgCount();
            assertThat(count).isEqualTo(3000);
            Map<String, Integer> seen = new HashMap<>();
            for (long seq = 1; seq <= count; seq++) {
                seen.merge(new String(jsm.getMessage("INITIAL", seq).getData(), StandardCharsets.UTF_8), 1,
                        Integer::sum);
            }
            for (int id = 1; id <= 3000; id++) {
                assertThat(seen).containsEntry("r:" + id, 1);
            }
        }
    }

    private static long rowsDone(String slot) {
        String v = pg.queryString("SELECT coalesce(max(rows_done), 0) FROM deltaforge.deltaforge_snapshot_progress "
                + "WHERE slot = '" + slot + "'");
        return v == null ? 0 : Long.parseLong(v);
    }

    /** A pipeline into JetStream and a collecting sink that takes {@code delayMs} per batch (to stop midway). */
    private static Pipeline pipeline(List<ChangeEvent> collected, String name, SnapshotMode mode, long delayMs) {
        PostgresSource source = PostgresSource.builder().id(name).dsn(pg.dsn()).slot(name + "_slot")
                .publication(name + "_pub").statusInterval(Duration.ofSeconds(1))
                .snapshot(mode, 200).build();
        NatsSink sink = NatsSink.builder().id("nats").url(nats.url()).stream(name.toUpperCase())
                .subject(name + ".events").sendTimeout(Duration.ofSeconds(5)).build();
        Sink collect = new Sink() {
            @Override
            public String id() {
                return "collect";
            }

            @Override
            public CompletionStage<Void> send(Batch batch) {
                if (delayMs > 0) {
                    try {
                        Thread.sleep(delayMs);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                collected.addAll(batch.events());
                return CompletableFuture.completedFuture(null);
            }
        };
        return Pipeline.builder().name(name).source(source).sink(sink).sink(collect)
                .envelope(e -> new Message(e.id(), Map.of(), "text/plain",
                        (e.op().code() + ":" + (e.after() == null ? e.before().get("id") : e.after().get("id")))
                                .getBytes(StandardCharsets.UTF_8)))
                .batch(new BatchConfig(100, 1 << 20, Duration.ofMillis(20), true))
                .build();
    }

    private static long rowsDone() {
        String v = pg.queryString("SELECT coalesce(max(rows_done), 0) FROM deltaforge.deltaforge_snapshot_progress "
                + "WHERE slot = 'resume_slot'");
        return v == null ? 0 : Long.parseLong(v);
    }

    private static String state() {
        return pg.queryString("SELECT state FROM deltaforge.deltaforge_snapshot_progress WHERE slot = 'resume_slot'");
    }

    private static void await(BooleanSupplier condition) {
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                .until(condition::getAsBoolean);
    }
}
