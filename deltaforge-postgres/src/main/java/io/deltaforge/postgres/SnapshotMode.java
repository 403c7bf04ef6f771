package io.deltaforge.postgres;

/**
 * Whether a {@link PostgresSource} reads the existing rows of its tables before streaming changes.
 *
 * <ul>
 *   <li>{@link #NEVER} (default): stream changes only; rows that exist before the slot are never emitted.</li>
 *   <li>{@link #INITIAL}: when the slot does not exist yet, create it with an exported snapshot, emit every
 *       row of every captured table as an {@link io.deltaforge.api.Op#READ} event as of the slot's consistent
 *       point, then stream from that point. A snapshot that was interrupted is redone from the start.</li>
 *   <li>{@link #INITIAL_ONLY}: like {@link #INITIAL}, but emit nothing after the snapshot (stop the pipeline
 *       once it is delivered).</li>
 *   <li>{@link #ALWAYS}: reserved; currently behaves as {@link #INITIAL} (a snapshot when the slot is new),
 *       and logs a warning when a completed snapshot is not repeated.</li>
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
