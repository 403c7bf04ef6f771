package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.api.PipelineStatus;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.Sink;
import io.deltaforge.testkit.PostgresServer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The slot monitor against a real server: its gauges, and a lag limit exceeded while a sink holds everything. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SlotMonitorIT {
    private static final long LIMIT = 256 * 1024;
    private static PostgresServer pg;

    @BeforeAll
    static void startServer() {
        pg = PostgresServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void gaugesFollowTheSlotAndALagOverTheLimitMarksThePipelineNotReadyUntilItCatchesUp() {
        String name = "mon";
        HoldingSink sink = new HoldingSink();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Pipeline pipeline = pipeline(name, LagAction.WARN, sink, registry)) {
            pipeline.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> pipeline.status().ready());
            await().atMost(Duration.ofSeconds(30)).until(() -> !Double.isNaN(gauge(registry, "deltaforge.slot.lag.bytes")));
            assertThat(gauge(registry, "deltaforge.slot.lag.bytes")).isBetween(0.0, (double) LIMIT);
            assertThat(gauge(registry, "deltaforge.slot.lag.seconds")).isGreaterThanOrEqualTo(0.0);
            assertThat(gauge(registry, "deltaforge.slot.wal.status")).isZero(); // reserved
            assertThat(gauge(registry, "deltaforge.slot.stall.reconnects")).isZero();

            writeWal(name);
            await().atMost(Duration.ofSeconds(60)).until(() -> !pipeline.status().ready());
            PipelineStatus status = pipeline.status();
            assertThat(status.state()).isEqualTo(PipelineState.RUNNING);
            assertThat(status.degraded()).contains("replication slot 'mon_slot' lags", "over max_lag_bytes " + LIMIT);
            assertThat(gauge(registry, "deltaforge.slot.lag.bytes")).isGreaterThan((double) LIMIT);
            await().atMost(Duration.ofSeconds(30)).until(() -> gauge(registry, "deltaforge.slot.lag.seconds") > 0.5);

            sink.release();
            await().atMost(Duration.ofSeconds(60)).until(() -> pipeline.status().ready());
            assertThat(gauge(registry, "deltaforge.slot.lag.bytes")).isLessThan((double) LIMIT);
        }
    }

    @Test
    void aLagOverTheLimitWithStopFailsThePipelineNamingTheSlotAndTheLimit() {
        String name = "stop";
        HoldingSink sink = new HoldingSink();
        try (Pipeline pipeline = pipeline(name, LagAction.STOP, sink, new SimpleMeterRegistry())) {
            pipeline.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> pipeline.status().ready());
            writeWal(name);
            await().atMost(Duration.ofSeconds(60)).until(() -> pipeline.status().state() == PipelineState.FAILED);
            assertThat(pipeline.status().failure()).hasMessageContaining("replication slot 'stop_slot' lags")
                    .hasMessageContaining("over max_lag_bytes " + LIMIT)
                    .hasMessageContaining("on_lag_exceeded: stop");
        } finally {
            sink.release();
        }
    }

    @Test
    void aStreamWhoseServerProcessIsFrozenIsReconnectedAndResumesOnceTheServerAnswersAgain() throws Exception {
        String name = "frozen";
        pg.execute("CREATE TABLE public.frozen_t (id int PRIMARY KEY, v text)");
        pg.execute("CREATE PUBLICATION frozen_pub FOR TABLE public.frozen_t");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        java.util.concurrent.atomic.AtomicInteger delivered = new java.util.concurrent.atomic.AtomicInteger();
        Sink counting = new Sink() {
            @Override
            public String id() {
                return "count";
            }

            @Override
            public CompletionStage<Void> send(Batch batch) {
                delivered.addAndGet(batch.size());
                return CompletableFuture.completedFuture(null);
            }
        };
        PostgresSource source = PostgresSource.builder().id(name).dsn(pg.dsn()).slot(name + "_slot")
                .publication(name + "_pub").statusInterval(Duration.ofSeconds(1))
                .slotMonitorInterval(Duration.ofMillis(200)).stallTimeout(Duration.ofSeconds(2)).build();
        try (Pipeline pipeline = Pipeline.builder().name(name).source(source).sink(counting).meterRegistry(registry)
                .envelope(e -> new Message(e.id(), Map.of(), "text/plain", e.id().getBytes(StandardCharsets.UTF_8)))
                .retryBackoff(Duration.ofMillis(100), Duration.ofMillis(500)).build()) {
            pipeline.start();
            pg.execute("INSERT INTO public.frozen_t VALUES (1, 'before')");
            await().atMost(Duration.ofSeconds(60)).until(() -> delivered.get() == 1);
            String walsender = pg.queryString("SELECT active_pid FROM pg_replication_slots WHERE slot_name = "
                    + "'frozen_slot'");
            signal("STOP", walsender);
            try {
                pg.execute("INSERT INTO public.frozen_t VALUES (2, 'while frozen')");
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> gauge(registry, "deltaforge.slot.stall.reconnects") == 1.0);
            } finally {
                signal("CONT", walsender);
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> delivered.get() >= 2);
            assertThat(pipeline.status().state()).isEqualTo(PipelineState.RUNNING);
        }
    }

    private static void signal(String signal, String pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, pid).inheritIO().start();
        assertThat(kill.waitFor()).as("kill -%s %s", signal, pid).isZero();
    }

    /**
     * A small transaction the held sink never confirms, then plenty of WAL behind it. (Within one big
     * transaction the slot may be confirmed up to the middle of it, at a keep-alive position: the server replays
     * a transaction by its commit position.)
     */
    private static void writeWal(String name) {
        pg.execute("INSERT INTO public." + name + "_t VALUES (0, 'first')");
        pg.execute("INSERT INTO public." + name + "_t SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g");
    }

    private static double gauge(SimpleMeterRegistry registry, String meter) {
        Gauge g = registry.find(meter).gauge();
        return g == null ? Double.NaN : g.value();
    }

    private static Pipeline pipeline(String name, LagAction action, Sink sink, SimpleMeterRegistry registry) {
        pg.execute("CREATE TABLE public." + name + "_t (id int PRIMARY KEY, v text)");
        pg.execute("CREATE PUBLICATION " + name + "_pub FOR TABLE public." + name + "_t");
        PostgresSource source = PostgresSource.builder().id(name).dsn(pg.dsn()).slot(name + "_slot")
                .publication(name + "_pub").statusInterval(Duration.ofSeconds(1))
                .slotMonitorInterval(Duration.ofMillis(200)).maxLag(LIMIT, Duration.ZERO).onLagExceeded(action)
                .build();
        return Pipeline.builder().name(name).source(source).sink(sink).meterRegistry(registry)
                .envelope(e -> new Message(e.id(), Map.of(), "text/plain", e.id().getBytes(StandardCharsets.UTF_8)))
                .batch(new BatchConfig(100, 1 << 20, Duration.ofMillis(20), true))
                .build();
    }

    /** Confirms nothing until released, as a sink that is down would. */
    private static final class HoldingSink implements Sink {
        private final CompletableFuture<Void> gate = new CompletableFuture<>();

        @Override
        public String id() {
            return "held";
        }

        @Override
        public CompletionStage<Void> send(Batch batch) {
            return gate;
        }

        void release() {
            gate.complete(null);
        }
    }
}
