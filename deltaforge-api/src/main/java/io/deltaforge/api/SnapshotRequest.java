package io.deltaforge.api;

import io.deltaforge.api.internal.condition.Condition;
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
 * pipeline.snapshot(new SnapshotRequest(List.of("public.orders"),
 *         "created_at >= '2026-12-01T00:00:00Z' AND status IN ('open', 'held')"));
 * }</pre>
 *
 * <p>The condition is not SQL but a small filter language: comparisons of a column with a literal
 * ({@code = <> != < <= > >=}), {@code [NOT] IN (…)}, {@code [NOT] BETWEEN … AND …}, {@code IS [NOT] NULL},
 * combined with {@code AND}, {@code OR}, {@code NOT} and parentheses. Literals are numbers, {@code 'strings'}
 * ({@code ''} for a quote inside) and {@code TRUE}/{@code FALSE}; each is read as text in the column's own
 * type, so {@code '2026-12-01T00:00:00Z'} compares with a {@code timestamptz} column and a UUID string with a
 * {@code uuid} one. Columns are plain names (folded to lower case) or {@code "Quoted"} names. No functions,
 * sub-queries, casts or comments: a source never pastes the text into a query. The full grammar and its
 * limits are in docs/snapshots.md.
 *
 * @param tables    tables as {@code schema.table} (or {@code table} for {@code public}); each must be
 *                  captured by the source; not empty
 * @param condition a condition in the language above that limits the rows, applied to each table (every
 *                  column it names must exist in each); null or blank for every row
 */
public record SnapshotRequest(List<String> tables, @Nullable String condition) {
    /**
     * Checks the tables and parses the condition.
     *
     * @throws IllegalArgumentException when there is no table or the condition does not parse: the message names
     *                                  the problem (and its position in the condition)
     */
    public SnapshotRequest {
        tables = List.copyOf(Objects.requireNonNull(tables, "tables"));
        if (tables.isEmpty()) {
            throw new IllegalArgumentException("tables is empty; name at least one table, e.g. public.users");
        }
        if (condition != null && condition.isBlank()) {
            condition = null;
        }
        if (condition != null) {
            try {
                Condition.parse(condition);
            } catch (IllegalArgumentException e) {
                // Without the cause: its message is this one without the field name.
                throw new IllegalArgumentException("condition " + e.getMessage());
            }
        }
    }

    /** Every row of the given tables. */
    public static SnapshotRequest of(String... tables) {
        return new SnapshotRequest(List.of(tables), null);
    }
}
