package io.deltaforge.postgres;

import java.util.Locale;

/**
 * Whether a {@link PostgresSource} creates its slot as a failover slot (PostgreSQL 17+), which the server
 * synchronizes to standbys with {@code sync_replication_slots = on}, so that the slot is there, at a
 * position the standby has, after a failover. See docs/operations.md for the server settings.
 *
 * <ul>
 *   <li>{@link #AUTO} (default): a failover slot on PostgreSQL 17 and later, an ordinary one before.</li>
 *   <li>{@link #ENABLED}: a failover slot; the source refuses to start on a server before 17.</li>
 *   <li>{@link #DISABLED}: an ordinary slot, which a failover loses.</li>
 * </ul>
 * An existing slot is switched to the chosen kind at start (where the server supports it).
 *
 * <p>YAML: {@code failover_slot: auto | true | false}.
 */
public enum FailoverSlot {
    AUTO,
    ENABLED,
    DISABLED;

    /** Parses {@code auto}, {@code true} or {@code false}, ignoring case; IllegalArgumentException otherwise. */
    public static FailoverSlot parse(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "true" -> ENABLED;
            case "false" -> DISABLED;
            default -> throw new IllegalArgumentException("'" + text + "' is not a failover_slot value; expected auto, "
                    + "true or false");
        };
    }

    /** Whether a slot on a server of this major version should be a failover slot. */
    public boolean wanted(int serverMajorVersion) {
        return this == ENABLED || (this == AUTO && serverMajorVersion >= 17);
    }
}
