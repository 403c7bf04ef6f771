package io.deltaforge.postgres.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * What a failover needs and {@code validate --check-connections} can see: on the primary,
 * {@code synchronized_standby_slots} and a physical slot for the standby; on every other host of a multi-host
 * dsn that is a standby, {@code sync_replication_slots}, {@code hot_standby_feedback},
 * {@code primary_slot_name}, {@code dbname} in {@code primary_conninfo}, and whether the source's slot has been
 * synchronized there. Each gap is a note with its fix; nothing here fails a check, since a pipeline runs
 * without a standby. Silent when no standby is in sight (one host in the dsn, no physical slot).
 *
 * <p>Stateless.
 */
final class FailoverChecks {
    private FailoverChecks() {
    }

    /** Notes on the failover readiness of the primary behind {@code primary} and the dsn's other hosts. */
    static List<String> notes(SourceSettings s, Connection primary) throws SQLException {
        int version = primary.getMetaData().getDatabaseMajorVersion();
        List<String> notes = new ArrayList<>();
        if (!s.failoverSlot().wanted(version)) {
            if (s.dsn().multiHost()) {
                notes.add(version < 17
                        ? "PostgreSQL " + version + " has no failover slots (they came with 17): after a failover to a "
                        + "standby the slot is missing there and the pipeline stops; see docs/operations.md"
                        : "failover_slot is false: after a failover to a standby the slot is missing there and the "
                        + "pipeline stops; set failover_slot: auto to have the slot synchronized to standbys");
            }
            return notes;
        }
        String standbySlots = setting(primary, "synchronized_standby_slots");
        List<String> physical = physicalSlots(primary);
        if (!s.dsn().multiHost() && physical.isEmpty()) {
            return notes; // no standby in sight: nothing to say to a pipeline that does not fail over
        }
        if (standbySlots == null || standbySlots.isBlank()) {
            notes.add("the primary's synchronized_standby_slots is empty: the slot may confirm changes a standby has "
                    + "not received yet, so after a failover to that standby its copy of the slot may lack them; name "
                    + "the physical slot of every standby that may take over: ALTER SYSTEM SET "
                    + "synchronized_standby_slots = '" + (physical.isEmpty() ? "<standby slot>" : String.join(",",
                    physical)) + "'; SELECT pg_reload_conf();");
        }
        if (physical.isEmpty()) {
            notes.add("the primary has no physical replication slot: a standby that should carry the slot over streams "
                    + "through one (primary_slot_name); create it: SELECT pg_create_physical_replication_slot("
                    + "'standby1');");
        }
        for (Dsn.Endpoint host : s.dsn().hosts()) {
            notes.addAll(standbyNotes(s, host, standbySlots));
        }
        return notes;
    }

    /** Notes on one host of the dsn if it is a standby; none for the primary. */
    private static List<String> standbyNotes(SourceSettings s, Dsn.Endpoint host, @Nullable String standbySlots) {
        String name = "standby " + host;
        List<String> notes = new ArrayList<>();
        try (Connection c = Connections.adminTo(s, host)) {
            if (!"t".equals(Sql.queryString(c, "SELECT pg_is_in_recovery()"))) {
                return notes;
            }
            Map<String, String> settings = settings(c, "sync_replication_slots", "hot_standby_feedback",
                    "primary_slot_name", "primary_conninfo");
            if (!"on".equals(settings.get("sync_replication_slots"))) {
                notes.add(name + ": sync_replication_slots is off, so the slot is not synchronized there; fix on the "
                        + "standby: ALTER SYSTEM SET sync_replication_slots = on; SELECT pg_reload_conf();");
            }
            if (!"on".equals(settings.get("hot_standby_feedback"))) {
                notes.add(name + ": hot_standby_feedback is off, which slot synchronization needs; fix on the standby: "
                        + "ALTER SYSTEM SET hot_standby_feedback = on; SELECT pg_reload_conf();");
            }
            String slot = settings.get("primary_slot_name");
            if (slot == null || slot.isBlank()) {
                notes.add(name + ": primary_slot_name is not set; slot synchronization needs the standby to stream "
                        + "through a physical slot: set it to one created on the primary");
            } else if (standbySlots != null && !standbySlots.isBlank()
                    && !Arrays.asList(standbySlots.split("\\s*,\\s*")).contains(slot)) {
                notes.add(name + ": its physical slot '" + slot + "' is not in the primary's synchronized_standby_slots ("
                        + standbySlots + "), so the primary may confirm changes this standby lacks; add it there");
            }
            String conninfo = settings.get("primary_conninfo");
            if (conninfo != null && !conninfo.contains("dbname")) {
                notes.add(name + ": primary_conninfo names no dbname, which slot synchronization needs; add "
                        + "dbname=" + s.dsn().database() + " to it");
            }
            String synced = syncedState(s, c);
            if (synced != null) {
                notes.add(name + ": " + synced);
            }
        } catch (SQLException e) {
            notes.add(name + ": cannot be checked (" + e.getMessage() + ")");
        }
        return notes;
    }

    /** What is wrong with the slot's copy on a standby; null when it is synchronized and would survive a promotion. */
    private static @Nullable String syncedState(SourceSettings s, Connection standby) throws SQLException {
        try (PreparedStatement ps = standby.prepareStatement(
                "SELECT synced, temporary FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, s.slot());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return "replication slot '" + s.slot() + "' is not synchronized there (yet); a failover now would "
                            + "stop the pipeline";
                }
                if (rs.getBoolean(2)) {
                    return "replication slot '" + s.slot() + "' is being synchronized but not usable yet (temporary "
                            + "until it catches up); a failover now would stop the pipeline";
                }
                return null;
            }
        }
    }

    private static @Nullable String setting(Connection c, String name) throws SQLException {
        return settings(c, name).get(name);
    }

    /** The settings the user may read; one they may not (superuser only) is absent. */
    private static Map<String, String> settings(Connection c, String... names) throws SQLException {
        Map<String, String> out = new TreeMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT name, setting FROM pg_settings WHERE name = ANY (?)")) {
            ps.setArray(1, c.createArrayOf("text", names));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        return out;
    }

    private static List<String> physicalSlots(Connection c) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY 1")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        return names;
    }
}
