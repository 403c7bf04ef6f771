package io.deltaforge.api.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Batch;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EngineMetricsTest {
    private static final TableId USERS = new TableId("public", "users");
    private static final TableId ORDERS = new TableId("public", "orders");

    @Test
    void eventsOutAreCountedPerTableAndOperationAcrossRunsOfOneAndMany() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        EngineMetrics.SinkMeters meters = new EngineMetrics(registry, "p").sink("a", () -> 0);
        // Runs of one and of several, a table or an operation changing alone, a run at the very end.
        List<ChangeEvent> events = new ArrayList<>();
        add(events, USERS, Op.CREATE, 3);
        add(events, ORDERS, Op.CREATE, 1);
        add(events, USERS, Op.CREATE, 1);
        add(events, USERS, Op.UPDATE, 2);
        add(events, ORDERS, Op.DELETE, 1);
        add(events, USERS, Op.UPDATE, 4);

        meters.confirmed(new Batch(1, events, events.stream().map(Fakes.TEXT::encode).toList()), System.nanoTime());
        meters.confirmed(new Batch(2, List.of(), List.of()), System.nanoTime());

        assertThat(count(registry, USERS, "c")).isEqualTo(4);
        assertThat(count(registry, USERS, "u")).isEqualTo(6);
        assertThat(count(registry, ORDERS, "c")).isEqualTo(1);
        assertThat(count(registry, ORDERS, "d")).isEqualTo(1);
        assertThat(registry.find("deltaforge.events.out").tag("table", "public.orders").tag("op", "u").counter())
                .isNull();
    }

    @Test
    void eventsInAreCountedPerTableAndOperationAcrossRunsOfOneAndMany() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        EngineMetrics metrics = new EngineMetrics(registry, "p");
        List<ChangeEvent> events = new ArrayList<>();
        add(events, USERS, Op.CREATE, 3);
        add(events, ORDERS, Op.CREATE, 1);
        // An equal table of another instance continues the run.
        add(events, new TableId("public", "users"), Op.CREATE, 1);
        add(events, USERS, Op.UPDATE, 2);
        add(events, ORDERS, Op.DELETE, 1);
        add(events, USERS, Op.UPDATE, 4);

        events.forEach(metrics::eventIn);

        assertThat(countIn(registry, USERS, "c")).isEqualTo(4);
        assertThat(countIn(registry, USERS, "u")).isEqualTo(6);
        assertThat(countIn(registry, ORDERS, "c")).isEqualTo(1);
        assertThat(countIn(registry, ORDERS, "d")).isEqualTo(1);
    }

    private static double countIn(SimpleMeterRegistry registry, TableId table, String op) {
        return registry.get("deltaforge.events.in").tag("table", table.toString()).tag("op", op).counter().count();
    }

    private static double count(SimpleMeterRegistry registry, TableId table, String op) {
        return registry.get("deltaforge.events.out").tag("sink", "a").tag("table", table.toString()).tag("op", op)
                .counter().count();
    }

    private static void add(List<ChangeEvent> events, TableId table, Op op, int n) {
        Instant now = Instant.parse("2025-01-15T10:30:00Z");
        for (int i = 0; i < n; i++) {
            int index = events.size();
            SourcePosition pos = new SourcePosition(new Lsn(1000), new Lsn(900 + index), index, 7, now);
            events.add(new ChangeEvent(EventIds.forChange("src", pos.commitLsn(), index), "src", op, table,
                    op == Op.CREATE ? null : Row.of(List.of("id"), (long) index),
                    op == Op.DELETE ? null : Row.of(List.of("id"), (long) index), pos));
        }
    }
}
