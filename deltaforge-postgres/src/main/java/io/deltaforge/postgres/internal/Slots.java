package io.deltaforge.postgres.internal;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.RetryableException;
import io.deltaforge.postgres.FailoverSlot;
import io.deltaforge.postgres.StartPosition;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replication slot's lifecycle over a normal connection: reading and checking it, creating it (and
 * recording that in {@link SnapshotRecords}), applying {@code start_position}, dropping it. A slot that
 * disappears is never silently recreated.
 *
 * <p>Stateless: every method takes the connection to use.
 */
final class Slots {
    private static final Logger log = LoggerFactory.getLogger(Slots.class);
    /** How long a start waits for a slot that a just-closed connection still holds. */
    private static final Duration ACTIVE_SLOT_GRACE = Duration.ofSeconds(2);

    private Slots() {
    }

    /**
     * Makes the slot ready to stream from and returns the position to start at: creates it when missing
     * (on a first start only), waits briefly for a just-closed reader to let go, and on a first start
     * applies {@code start_position}.
     *
     * @param firstStart whether this is the source's first session in this process; only then may a missing
     *                   slot be created (a slot that disappears under a running source was dropped, and
     *                   recreating it would silently skip everything written since) and the start position
     *                   be applied
     * @param failedOver   whether the server is a promoted standby since the last session (a new timeline)
     * @param acknowledged the source's acknowledged position, 0 when none yet
     * @throws DeltaforgeException when the slot cannot be this source's; the message says how to fix it
     * @throws RetryableException  when another reader holds the slot
     */
    static long prepare(SourceSettings s, Connection c, boolean firstStart, boolean failedOver, long acknowledged)
            throws SQLException {
        requireFailoverSupport(s, c);
        long confirmed = ready(s, c, firstStart, failedOver);
        if (failedOver) {
            requireCarriedOver(s, c, confirmed, acknowledged);
        }
        return firstStart ? applyStartPosition(s, c, confirmed) : confirmed;
    }

    /**
     * Makes the existing slot a failover slot or an ordinary one, as {@code failover_slot} wants, on a server
     * that has failover slots (17+); the slot must be idle. Runs on the replication connection, the only
     * place PostgreSQL offers {@code ALTER_REPLICATION_SLOT}.
     */
    static void alignFailover(SourceSettings s, Connection admin, Connection replication) throws SQLException {
        int version = admin.getMetaData().getDatabaseMajorVersion();
        SlotInfo slot = read(s, admin);
        if (version < 17 || slot == null || slot.failover == null) {
            return;
        }
        boolean wanted = s.failoverSlot().wanted(version);
        if (slot.failover != wanted) {
            try (Statement st = replication.createStatement()) {
                st.execute("ALTER_REPLICATION_SLOT " + Sql.quoteIdentifier(s.slot()) + " ( FAILOVER " + wanted + " )");
            }
            log.info("source '{}': replication slot '{}' is {} a failover slot (failover_slot: {})", s.id(), s.slot(),
                    wanted ? "now" : "no longer", s.failoverSlot().name().toLowerCase(java.util.Locale.ROOT));
        }
    }

    /** failover_slot: true on a server without failover slots. */
    private static void requireFailoverSupport(SourceSettings s, Connection c) throws SQLException {
        int version = c.getMetaData().getDatabaseMajorVersion();
        if (s.failoverSlot() == FailoverSlot.ENABLED && version < 17) {
            throw new DeltaforgeException("source '" + s.id() + "': failover_slot is true, but PostgreSQL " + version
                    + " has no failover slots (they came with PostgreSQL 17); upgrade the server, or set failover_slot: "
                    + "auto (an ordinary slot, which a failover to a standby loses: see docs/operations.md)");
        }
    }

    /**
     * After a failover, the slot on the new primary must not be ahead of what this source acknowledged:
     * a synchronized slot never is (it trails the old primary's), while one created on the new primary after
     * the promotion is, and streaming from it would skip every change in between.
     */
    private static void requireCarriedOver(SourceSettings s, Connection c, long confirmed, long acknowledged)
            throws SQLException {
        SlotInfo slot = read(s, c);
        String synced = slot == null || slot.synced == null ? "" : " (synced: " + slot.synced + ")";
        if (acknowledged != 0 && Long.compareUnsigned(confirmed, acknowledged) > 0) {
            throw new DeltaforgeException("source '" + s.id() + "': after the failover, replication slot '" + s.slot()
                    + "' on the new primary" + synced + " is at " + new Lsn(confirmed) + ", ahead of the last position "
                    + "this source acknowledged (" + new Lsn(acknowledged) + "): it was not carried over from the old "
                    + "primary but made anew, and streaming from it would skip the changes in between. Re-sync the "
                    + "consumers (e.g. with a snapshot), drop the slot and restart the pipeline; see docs/operations.md "
                    + "for failover slots");
        }
        log.info("source '{}': replication slot '{}' is on the new primary{} at {}; resuming", s.id(), s.slot(), synced,
                new Lsn(confirmed));
    }

    /**
     * What {@link #prepare} would find, changing nothing.
     *
     * @return notes: what the first start would create, or that the slot is busy right now
     * @throws DeltaforgeException as {@link #prepare} would
     */
    static List<String> inspect(SourceSettings s, Connection c) throws SQLException {
        requireFailoverSupport(s, c);
        SlotInfo slot = read(s, c);
        if (slot == null) {
            if (!s.createSlot()) {
                throw missing(s);
            }
            refuseIfDroppedWhileStopped(s, c);
            return List.of("replication slot '" + s.slot() + "' does not exist yet; the first start creates it");
        }
        check(s, slot);
        List<String> notes = new ArrayList<>();
        if (slot.active) {
            notes.add("replication slot '" + s.slot() + "' is in use right now (server process "
                    + slot.activePid + "); a start waits until that reader stops");
        }
        boolean wanted = s.failoverSlot().wanted(c.getMetaData().getDatabaseMajorVersion());
        if (slot.failover != null && slot.failover != wanted) {
            notes.add("replication slot '" + s.slot() + "' is " + (wanted ? "not " : "") + "a failover slot; the next "
                    + "start makes it " + (wanted ? "one" : "an ordinary one") + " (failover_slot)");
        }
        return notes;
    }

    /** Whether the slot exists, whatever its state. */
    static boolean exists(SourceSettings s, Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, s.slot());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Drops the slot, waiting up to 5 s for a just-closed connection to let go of it. */
    static void drop(SourceSettings s, Connection c) throws SQLException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (true) {
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
                ps.setString(1, s.slot());
                ps.execute();
                return;
            } catch (SQLException e) {
                // A just-closed connection may still hold the slot for a moment.
                if (!"55006".equals(e.getSQLState()) || System.nanoTime() - deadline > 0) {
                    throw e;
                }
            }
            sleep(100);
        }
    }

    /** Makes sure the slot exists, is ours to use and is idle; returns its confirmed flush position. */
    private static long ready(SourceSettings s, Connection c, boolean firstStart, boolean failedOver)
            throws SQLException {
        long graceEnd = System.nanoTime() + ACTIVE_SLOT_GRACE.toNanos();
        while (true) {
            SlotInfo slot = read(s, c);
            if (slot == null) {
                if (!s.createSlot()) {
                    throw missing(s);
                }
                if (failedOver) {
                    throw missingAfterFailover(s, c);
                }
                if (!firstStart) {
                    throw new DeltaforgeException("source '" + s.id() + "': replication slot '" + s.slot()
                            + "' disappeared while the pipeline was running (dropped or invalidated); it is not "
                            + "recreated, since changes written meanwhile would be skipped. Re-sync the consumers "
                            + "(e.g. with a snapshot), then restart the pipeline to create a new slot");
                }
                refuseIfDroppedWhileStopped(s, c);
                // Recorded before the slot exists, so the write is not decoded from it (PostgreSQL before 15
                // would send it as an empty transaction); forgotten again if the slot cannot be made.
                boolean remembered = remember(s, c);
                Long created;
                try {
                    created = create(s, c);
                } catch (SQLException | RuntimeException e) {
                    if (remembered) {
                        forget(s, c);
                    }
                    throw e;
                }
                if (created != null) {
                    return created;
                }
                continue; // someone else created it meanwhile: check it like any existing slot
            }
            check(s, slot);
            if (slot.active) {
                if (System.nanoTime() - graceEnd < 0) {
                    sleep(100);
                    continue;
                }
                throw new RetryableException("source '" + s.id() + "': replication slot '" + s.slot()
                        + "' is in use by another connection (server process " + slot.activePid + "); only one "
                        + "reader per slot: stop the other reader or give this source its own slot");
            }
            return slot.confirmedFlush;
        }
    }

    /**
     * Applies {@code start_position} on the first start: latest advances the slot to the current WAL end, an
     * LSN to that LSN (never backwards). Returns the slot's confirmed position afterwards.
     */
    private static long applyStartPosition(SourceSettings s, Connection c, long confirmed) throws SQLException {
        StartPosition start = s.startPosition();
        long target;
        if (start instanceof StartPosition.Latest) {
            target = Lsn.parse(Sql.queryString(c, "SELECT pg_current_wal_lsn()::text")).value();
        } else if (start instanceof StartPosition.At at) {
            target = at.lsn().value();
            if (Long.compareUnsigned(target, confirmed) < 0) {
                throw new DeltaforgeException("source '" + s.id() + "': start_position " + at.lsn() + " is before "
                        + "the confirmed position " + new Lsn(confirmed) + " of slot '" + s.slot() + "'; the server "
                        + "no longer keeps what lies before it. Use " + new Lsn(confirmed) + " or later, or "
                        + "start_position: earliest");
            }
        } else {
            return confirmed;
        }
        if (Long.compareUnsigned(target, confirmed) <= 0) {
            log.info("source '{}': start_position {}: slot '{}' is already at {}; nothing skipped", s.id(), start,
                    s.slot(), new Lsn(confirmed));
            return confirmed;
        }
        long moved;
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT end_lsn::text FROM pg_replication_slot_advance(?, ?::pg_lsn)")) {
            ps.setString(1, s.slot());
            ps.setString(2, new Lsn(target).toString());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                moved = Lsn.parse(rs.getString(1)).value();
            }
        }
        log.info("source '{}': start_position {}: advanced slot '{}' from {} to {}; changes committed in between "
                + "are skipped and will not be delivered", s.id(), start, s.slot(), new Lsn(confirmed), new Lsn(moved));
        return Long.compareUnsigned(confirmed, moved) >= 0 ? confirmed : moved;
    }

    private static DeltaforgeException missingAfterFailover(SourceSettings s, Connection c) throws SQLException {
        int version = c.getMetaData().getDatabaseMajorVersion();
        String why = version < 17
                ? "PostgreSQL " + version + " has no failover slots (they came with 17), so a standby never has the slot"
                : "the slot was not synchronized to this standby before the promotion (failover_slot: "
                + s.failoverSlot().name().toLowerCase(java.util.Locale.ROOT) + "; the standby needs "
                + "sync_replication_slots = on, hot_standby_feedback = on, primary_slot_name and dbname in "
                + "primary_conninfo, and the slot must have been synchronized at least once)";
        return new DeltaforgeException("source '" + s.id() + "': replication slot '" + s.slot()
                + "' does not exist on the new primary after the failover: " + why
                + ". It is not recreated, since the changes since the "
                + "last acknowledged position would be skipped. Re-sync the consumers (e.g. with snapshot.mode: "
                + "initial), then forget the old slot (DELETE FROM " + s.snapshotsTable() + " WHERE slot = '"
                + s.slot() + "';) and start again; docs/operations.md describes the settings that carry the slot "
                + "over");
    }

    private static DeltaforgeException missing(SourceSettings s) {
        return new DeltaforgeException("source '" + s.id() + "': replication slot '" + s.slot()
                + "' does not exist and create_slot is false; create it: SELECT "
                + "pg_create_logical_replication_slot('" + s.slot() + "', 'pgoutput'); or set create_slot: true");
    }

    /** Fails when an existing slot cannot be this source's: wrong kind, another database, invalidated. */
    private static void check(SourceSettings s, SlotInfo slot) {
        if (!"logical".equals(slot.type) || !"pgoutput".equals(slot.plugin)) {
            throw new DeltaforgeException("source '" + s.id() + "': replication slot '" + s.slot() + "' is a "
                    + slot.type + " slot with plugin '" + slot.plugin + "'; use a logical slot with pgoutput "
                    + "(pick another slot name, or drop it: SELECT pg_drop_replication_slot('" + s.slot() + "'))");
        }
        if (!s.dsn().database().equals(slot.database)) {
            throw new DeltaforgeException("source '" + s.id() + "': replication slot '" + s.slot()
                    + "' belongs to database '" + slot.database + "', not '" + s.dsn().database()
                    + "'; pick another slot name or connect to that database");
        }
        if ("lost".equals(slot.walStatus) || slot.confirmedFlush == null) {
            throw new DeltaforgeException("source '" + s.id() + "': replication slot '" + s.slot()
                    + "' is invalidated (the WAL it needs was removed), so changes were lost; drop it "
                    + "(SELECT pg_drop_replication_slot('" + s.slot() + "')), re-sync the targets and start "
                    + "again; raise max_slot_wal_keep_size to prevent this");
        }
    }

    private static @Nullable SlotInfo read(SourceSettings s, Connection c) throws SQLException {
        int version = c.getMetaData().getDatabaseMajorVersion();
        String sql = "SELECT slot_type, plugin, database, active, active_pid, confirmed_flush_lsn::text, "
                + (version >= 13 ? "wal_status" : "NULL") + ", " + (version >= 17 ? "failover, synced" : "NULL, NULL")
                + " FROM pg_replication_slots WHERE slot_name = ?";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, s.slot());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                String flush = rs.getString(6);
                return new SlotInfo(rs.getString(1), String.valueOf(rs.getString(2)),
                        String.valueOf(rs.getString(3)), rs.getBoolean(4), rs.getObject(5),
                        flush == null ? null : Lsn.parse(flush).value(), rs.getString(7),
                        (Boolean) rs.getObject(8), (Boolean) rs.getObject(9));
            }
        }
    }

    /**
     * A slot this source created before (its record in {@code deltaforge_snapshots} says so) but that is gone
     * was dropped or invalidated while the pipeline was stopped: creating a new one would silently skip
     * every change since. Without the record table (no privilege to create it) nothing can be told.
     */
    private static void refuseIfDroppedWhileStopped(SourceSettings s, Connection c) {
        SnapshotRecords.Record record;
        try {
            record = SnapshotRecords.read(s, c);
        } catch (SQLException e) {
            return; // the server did not answer the catalog lookup; the slot checks that follow will tell
        }
        if (record != null && record.completed()) {
            throw new DeltaforgeException("source '" + s.id() + "': replication slot '" + s.slot() + "' was created by"
                    + " DeltaForge before but no longer exists: it was dropped or invalidated while the pipeline was"
                    + " stopped, or the server is a standby promoted without it (failover slots need PostgreSQL 17+"
                    + " and the standby settings in docs/operations.md), so the changes made since cannot be replayed. Re-sync the consumers (for example"
                    + " with snapshot.mode: initial), then forget the old slot and start again: DELETE FROM "
                    + s.snapshotsTable() + " WHERE slot = '" + s.slot() + "';");
        }
    }

    /** Records the slot about to be made, so that its loss can be told from a first start later. Best effort. */
    private static boolean remember(SourceSettings s, Connection c) {
        try {
            SnapshotRecords.createTable(s, c);
            SnapshotRecords.upsert(s, c, null, true);
            return true;
        } catch (SQLException | DeltaforgeException e) {
            log.warn("source '{}': cannot record slot '{}' in {} ({}); if the slot is ever dropped while the "
                    + "pipeline is stopped, a new one would be created without notice", s.id(), s.slot(),
                    s.snapshotsTable(), e.getMessage());
            return false;
        }
    }

    private static void forget(SourceSettings s, Connection c) {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM "
                + Sql.quoteTable(s.snapshotsTable()) + " WHERE slot = ?")) {
            ps.setString(1, s.slot());
            ps.executeUpdate();
        } catch (SQLException e) {
            log.warn("source '{}': cannot remove the record of slot '{}' that was not created: {}", s.id(), s.slot(),
                    e.getMessage());
        }
    }

    /** Creates the slot; null when it already exists (created concurrently). */
    private static @Nullable Long create(SourceSettings s, Connection c) throws SQLException {
        boolean failover = s.failoverSlot().wanted(c.getMetaData().getDatabaseMajorVersion());
        // Arguments: name, plugin, temporary, two-phase, failover (17+).
        try (PreparedStatement ps = c.prepareStatement("SELECT lsn::text FROM pg_create_logical_replication_slot(?, "
                + "'pgoutput'" + (failover ? ", false, false, true" : "") + ")")) {
            ps.setString(1, s.slot());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                Lsn lsn = Lsn.parse(rs.getString(1));
                log.info("source '{}': created {}replication slot '{}' at {}", s.id(), failover ? "failover " : "",
                        s.slot(), lsn);
                return lsn.value();
            }
        } catch (SQLException e) {
            if ("42710".equals(e.getSQLState())) { // duplicate_object
                return null;
            }
            if ("53400".equals(e.getSQLState())) { // configuration_limit_exceeded
                throw new DeltaforgeException("source '" + s.id() + "': cannot create replication slot '" + s.slot()
                        + "': all replication slots are in use (max_replication_slots = "
                        + Sql.queryString(c, "SHOW max_replication_slots") + "; inactive ones: " + inactiveSlots(c)
                        + "); drop one that is no longer needed (SELECT pg_drop_replication_slot('<name>');) or raise "
                        + "max_replication_slots (ALTER SYSTEM SET max_replication_slots = <n>;) and restart "
                        + "PostgreSQL", e);
            }
            throw e;
        }
    }

    private static String inactiveSlots(Connection c) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT slot_name FROM pg_replication_slots WHERE NOT active ORDER BY 1 LIMIT 21")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        if (names.isEmpty()) {
            return "none";
        }
        return names.size() > 20 ? String.join(", ", names.subList(0, 20)) + ", ..." : String.join(", ", names);
    }

    /** A row of pg_replication_slots; failover and synced are null before PostgreSQL 17. */
    private record SlotInfo(String type, String plugin, String database, boolean active, @Nullable Object activePid,
                            @Nullable Long confirmedFlush, @Nullable String walStatus, @Nullable Boolean failover,
                            @Nullable Boolean synced) {
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RetryableException("interrupted while waiting for the replication slot", e);
        }
    }
}
