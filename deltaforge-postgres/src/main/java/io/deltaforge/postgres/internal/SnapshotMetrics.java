package io.deltaforge.postgres.internal;

import io.deltaforge.api.TableId;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * Snapshot progress of one source, kept across its sessions and published as gauges once
 * {@link #bind(MeterRegistry, Tags)} was called: {@code deltaforge.snapshot.rows{table}} (rows read),
 * {@code deltaforge.snapshot.rows.estimated{table}} ({@code pg_class.reltuples} when the table started),
 * {@code deltaforge.snapshot.rows.per.second{table}} and {@code deltaforge.snapshot.tables.remaining}.
 *
 * <p>Thread-safe: written by the reader thread, read by metric threads.
 */
public final class SnapshotMetrics {
    private final Map<TableId, Progress> tables = new ConcurrentHashMap<>();
    private final AtomicLong remaining = new AtomicLong();
    private volatile @Nullable MeterRegistry registry;
    private volatile Tags tags = Tags.empty();

    /** Publishes the gauges in {@code registry}; later tables are added as they start. */
    public synchronized void bind(MeterRegistry registry, Tags tags) {
        this.registry = registry;
        this.tags = tags;
        Gauge.builder("deltaforge.snapshot.tables.remaining", remaining, AtomicLong::get)
                .description("tables of snapshot requests not yet completely delivered").tags(tags)
                .register(registry);
        tables.forEach(this::register);
    }

    /** Rows read so far of {@code table}; creates its gauges on first use. */
    synchronized void table(TableId table, long rows, long estimated, double rowsPerSecond) {
        Progress p = tables.get(table);
        if (p == null) {
            p = new Progress();
            tables.put(table, p);
            register(table, p);
        }
        p.rows.set(rows);
        p.estimated.set(Math.max(estimated, rows));
        p.rate.set(Math.round(rowsPerSecond));
    }

    void remaining(long count) {
        remaining.set(count);
    }

    /** Rows read of {@code table}, for tests; -1 when unknown. */
    long rows(TableId table) {
        Progress p = tables.get(table);
        return p == null ? -1 : p.rows.get();
    }

    private void register(TableId table, Progress p) {
        MeterRegistry r = registry;
        if (r == null) {
            return;
        }
        Tags t = tags.and("table", table.toString());
        Gauge.builder("deltaforge.snapshot.rows", p.rows, AtomicLong::get)
                .description("snapshot rows read of the table").tags(t).register(r);
        Gauge.builder("deltaforge.snapshot.rows.estimated", p.estimated, AtomicLong::get)
                .description("estimated rows of the table (pg_class.reltuples)").tags(t).register(r);
        Gauge.builder("deltaforge.snapshot.rows.per.second", p.rate, AtomicLong::get)
                .description("snapshot read rate of the table").tags(t).register(r);
    }

    private static final class Progress {
        final AtomicLong rows = new AtomicLong();
        final AtomicLong estimated = new AtomicLong();
        final AtomicLong rate = new AtomicLong();
    }
}
