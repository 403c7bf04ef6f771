package io.deltaforge.postgres.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.jspecify.annotations.Nullable;

/**
 * The source's record of its slot in {@code deltaforge_snapshots(slot, snapshot_id, completed_at)} (in
 * {@link SourceSettings#bookkeepingSchema()}): which snapshot created the slot and whether it was delivered.
 * It tells a first start from a slot lost while stopped, and an interrupted snapshot from a completed one.
 *
 * <p>Stateless: every method takes the connection to use.
 */
final class SnapshotRecords {
    private SnapshotRecords() {
    }

    /** The slot's row: the snapshot that created it (null before it is named) and whether it was delivered. */
    record Record(@Nullable String snapshotId, boolean completed) {
    }

    static void createTable(SourceSettings s, Connection c) throws SQLException {
        Bookkeeping.ensureTable(s, c, s.snapshotsTable(), "slot text PRIMARY KEY, snapshot_id text, completed_at "
                + "timestamptz");
    }

    /** The slot's record; null when there is none (or no record table this user may read). */
    static @Nullable Record read(SourceSettings s, Connection c) throws SQLException {
        if (!Bookkeeping.mayUse(c, s.snapshotsTable(), "SELECT")) {
            return null;
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT snapshot_id, completed_at IS NOT NULL FROM "
                + Sql.quoteTable(s.snapshotsTable()) + " WHERE slot = ?")) {
            ps.setString(1, s.slot());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new Record(rs.getString(1), rs.getBoolean(2)) : null;
            }
        }
    }

    static void upsert(SourceSettings s, Connection c, @Nullable String snapshotId, boolean completed)
            throws SQLException {
        String completedAt = completed ? "now()" : "NULL";
        // The record decides what the next start does with the slot; it must survive a server crash even
        // where synchronous_commit is off.
        try (Statement st = c.createStatement()) {
            st.execute("SET synchronous_commit = on");
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO "
                + Sql.quoteTable(s.snapshotsTable()) + " (slot, snapshot_id, completed_at) "
                + "VALUES (?, ?, " + completedAt + ") ON CONFLICT (slot) DO UPDATE SET snapshot_id = "
                + "EXCLUDED.snapshot_id, completed_at = EXCLUDED.completed_at")) {
            ps.setString(1, s.slot());
            ps.setString(2, snapshotId);
            ps.executeUpdate();
        }
    }

    /** Records the snapshot {@code snapshotId} of the slot as completed, if it is the slot's recorded one. */
    static void completed(SourceSettings s, Connection c, String snapshotId) throws SQLException {
        // No record table, or one this user may not write (it wrote no initial snapshot record then): not an
        // initial snapshot. Asked of the catalog, so that no failing statement lands in the server's log.
        if (!Bookkeeping.mayUse(c, s.snapshotsTable(), "SELECT", "UPDATE")) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE "
                + Sql.quoteTable(s.snapshotsTable()) + " SET completed_at = now() "
                + "WHERE slot = ? AND snapshot_id = ? AND completed_at IS NULL")) {
            ps.setString(1, s.slot());
            ps.setString(2, snapshotId);
            ps.executeUpdate();
        }
    }
}
