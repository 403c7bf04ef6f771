package io.deltaforge.postgres;

/**
 * Where a {@link PostgresSource} starts when it has to create its replication slot.
 *
 * <p>Once the slot exists, the slot's confirmed position always wins: the source resumes right after the
 * last acknowledged transaction, whatever this setting says, because skipping ahead would lose changes
 * that were never delivered. Since a new slot starts at the server's current WAL position, both values
 * behave the same today; {@code EARLIEST} is the default and is what to use. {@code LATEST} states the
 * intent "do not replay history" and is kept for configurations that say so explicitly.
 *
 * <pre>{@code PostgresSource.builder().startPosition(StartPosition.EARLIEST) }</pre>
 */
public enum StartPosition {
    /** Resume from the slot; a newly created slot starts at its creation point. */
    EARLIEST,
    /** Same as {@link #EARLIEST} for now: only matters when the slot is created (see the class comment). */
    LATEST;

    /** Parses {@code earliest} / {@code latest}, ignoring case; throws IllegalArgumentException otherwise. */
    public static StartPosition parse(String text) {
        for (StartPosition p : values()) {
            if (p.name().equalsIgnoreCase(text.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not a start position; expected earliest or latest");
    }
}
