package io.deltaforge.postgres;

/**
 * Whether a {@link PostgresSource} reads the existing rows of its tables before streaming changes.
 *
 * <ul>
 *   <li>{@link #NEVER} (default): stream changes only; rows that exist before the slot are never emitted
 *       (unless a snapshot is requested while streaming: {@link PostgresSource#requestSnapshot}).</li>
 *   <li>{@link #INITIAL}: when the slot does not exist yet, create it and emit every row of every captured
 *       table as an {@link io.deltaforge.api.Op#READ} event while streaming from the slot's consistent point
 *       (chunks read between watermarks; see docs/snapshots.md). An interrupted snapshot resumes after its last
 *       acknowledged chunk. When a captured table has no primary key or replica identity index, the rows are
 *       read from the slot's exported snapshot instead, before streaming, and an interrupted one is redone.</li>
 *   <li>{@link #INITIAL_ONLY}: read every row from the slot's exported snapshot (a point-in-time copy), emit
 *       nothing after it (stop the pipeline once it is delivered).</li>
 *   <li>{@link #ALWAYS}: as {@link #INITIAL}, and on the first start of a process with an existing slot whose
 *       earlier snapshot completed (and no snapshot request open), a new snapshot of every captured table.</li>
 * </ul>
 *
 * <pre>{@code PostgresSource.builder().snapshot(SnapshotMode.INITIAL, 10_000)}</pre>
 * <p>YAML: {@code snapshot: {mode: never | initial | initial_only | always, chunk_size: 10000}}.
 */
public enum SnapshotMode {
    NEVER,
    INITIAL,
    INITIAL_ONLY,
    ALWAYS;

    /** Parses {@code never}, {@code initial}, {@code initial_only}, {@code always}, ignoring case. */
    public static SnapshotMode parse(String text) {
        for (SnapshotMode m : values()) {
            if (m.name().equalsIgnoreCase(text.trim())) {
                return m;
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not a snapshot mode; expected never, initial, "
                + "initial_only or always");
    }
}
