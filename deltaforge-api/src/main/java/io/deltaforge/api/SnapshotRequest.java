package io.deltaforge.api;

import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Asks a running source to re-read tables while it keeps streaming (an incremental snapshot): every
 * matching row is emitted again as a snapshot event (op {@code r}), ordered so that a change streamed while
 * a chunk was read wins over the chunk's copy of the row.
 *
 * <pre>{@code
 * pipeline.snapshot(SnapshotRequest.of("public.users"));
 * pipeline.snapshot(new SnapshotRequest(List.of("public.orders"), "created_at > now() - interval '1 day'"));
 * }</pre>
 *
 * @param tables    tables as {@code schema.table} (or {@code table} for {@code public}); each must be
 *                  captured by the source; not empty
 * @param condition an SQL boolean expression over the table's columns that limits the rows, applied to each
 *                  table; null for every row
 */
public record SnapshotRequest(List<String> tables, @Nullable String condition) {
    public SnapshotRequest {
        tables = List.copyOf(Objects.requireNonNull(tables, "tables"));
        if (tables.isEmpty()) {
            throw new IllegalArgumentException("tables is empty; name at least one table, e.g. public.users");
        }
        if (condition != null && condition.isBlank()) {
            condition = null;
        }
    }

    /** Every row of the given tables. */
    public static SnapshotRequest of(String... tables) {
        return new SnapshotRequest(List.of(tables), null);
    }
}
