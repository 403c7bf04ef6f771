package io.deltaforge.postgres;

import io.deltaforge.api.Lsn;
import java.util.Objects;

/**
 * Where a {@link PostgresSource} starts reading its replication slot.
 *
 * <ul>
 *   <li>{@link #EARLIEST} (default): resume from the slot, right after the last acknowledged transaction;
 *       a newly created slot starts at its creation point. Nothing is skipped.</li>
 *   <li>{@link #LATEST}: skip whatever the slot still holds: before streaming, the slot is advanced to the
 *       server's current WAL end ({@code pg_replication_slot_advance(slot, pg_current_wal_lsn())}) and an
 *       INFO line says from where to where. Changes in between are never delivered.</li>
 *   <li>{@link #at(Lsn)}: advance the slot to this position first. It must not be before the slot's
 *       confirmed position (the server no longer has what lies before it): start fails saying so.</li>
 * </ul>
 *
 * <p>The skip happens once per {@link PostgresSource} instance, on its first successful
 * {@link PostgresSource#start()}: when the engine starts it again after a connection problem it resumes
 * from the slot, so a reconnect never skips undelivered changes. A new process with the same setting skips
 * again — that is what {@code latest} asks for.
 *
 * <pre>{@code
 * PostgresSource.builder().startPosition(StartPosition.at(Lsn.parse("0/16B3748")))
 * }</pre>
 *
 * <p>YAML: {@code start_position: earliest}, {@code start_position: latest}, or
 * {@code start_position: {lsn: "0/16B3748"}}.
 */
public sealed interface StartPosition {
    /** Resume from the slot; a newly created slot starts at its creation point. */
    StartPosition EARLIEST = new Earliest();
    /** Advance the slot to the current WAL end before streaming. */
    StartPosition LATEST = new Latest();

    /** Advance the slot to {@code lsn} before streaming; not null. */
    static StartPosition at(Lsn lsn) {
        return new At(Objects.requireNonNull(lsn, "lsn"));
    }

    /**
     * Parses {@code earliest} or {@code latest} (ignoring case) or an LSN such as {@code 0/16B3748}.
     *
     * @throws IllegalArgumentException naming the accepted forms
     */
    static StartPosition parse(String text) {
        String t = text.trim();
        if (t.equalsIgnoreCase("earliest")) {
            return EARLIEST;
        }
        if (t.equalsIgnoreCase("latest")) {
            return LATEST;
        }
        if (t.contains("/")) {
            try {
                return at(Lsn.parse(t));
            } catch (RuntimeException e) {
                // fall through to the common message
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not a start position; expected earliest, latest "
                + "or {lsn: \"0/16B3748\"}");
    }

    /** See {@link StartPosition#EARLIEST}. */
    record Earliest() implements StartPosition {
        @Override
        public String toString() {
            return "earliest";
        }
    }

    /** See {@link StartPosition#LATEST}. */
    record Latest() implements StartPosition {
        @Override
        public String toString() {
            return "latest";
        }
    }

    /**
     * See {@link StartPosition#at(Lsn)}.
     *
     * @param lsn where to start, never null
     */
    record At(Lsn lsn) implements StartPosition {
        public At {
            Objects.requireNonNull(lsn, "lsn");
        }

        @Override
        public String toString() {
            return "lsn " + lsn;
        }
    }
}
