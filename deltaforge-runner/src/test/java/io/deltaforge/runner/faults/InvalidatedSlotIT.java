package io.deltaforge.runner.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.api.RetryableException;
import io.deltaforge.testkit.PostgresServer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A slot that PostgreSQL invalidates under a running pipeline (its WAL went past
 * {@code max_slot_wal_keep_size} while a sink held the checkpoint back): the pipeline stops with a clear
 * error instead of carrying on from somewhere else. Its own server, since the setting affects every slot.
 */
class InvalidatedSlotIT {
    PostgresServer pg;
    Pipeline pipeline;

    @AfterEach
    void stop() {
        if (pipeline != null) {
            pipeline.stop(Duration.ofSeconds(5));
        }
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    @Timeout(120)
    void aSlotInvalidatedWhileRunningStopsThePipelineWithAClearError() throws Exception {
        pg = PostgresServer.start();
        pg.execute("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
        pg.queryString("SELECT pg_reload_conf()");
        Load.createTables(pg, List.of("inv_t"), "inv_pub");
        pg.execute("CREATE TABLE inv_filler (id int, pad text)");
        MemorySink stuck = new MemorySink("stuck");
        stuck.gate = b -> new CompletableFuture<>();
        pipeline = Fixture.pipeline("invalidated").source(Fixture.source(pg, "inv").build()).sink(stuck).build();
        pipeline.start();
        pg.execute("INSERT INTO inv_t VALUES (1, 1, 'held back')");

        Fixture.await("PostgreSQL invalidates the slot", Duration.ofSeconds(90), () -> {
            pg.execute("INSERT INTO inv_filler SELECT g, repeat('x', 1000) FROM generate_series(1, 5000) g");
            pg.queryString("SELECT pg_switch_wal()");
            pg.execute("CHECKPOINT");
            return "lost".equals(pg.queryString("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'inv_slot'"))
                    || pipeline.status().state() == PipelineState.FAILED;
        });

        assertThat(pipeline.awaitTermination(Duration.ofSeconds(60))).isTrue();
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.FAILED);
        assertThat(pipeline.status().failure()).isInstanceOf(DeltaforgeException.class)
                .isNotInstanceOf(RetryableException.class)
                .hasMessageContaining("inv_slot")
                .hasMessageContaining("invalidated");
        assertThat(stuck.delivered()).isEmpty();
    }
}
