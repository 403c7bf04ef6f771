package io.deltaforge.postgres.internal;

import io.deltaforge.api.DeltaforgeException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.jspecify.annotations.Nullable;
import org.postgresql.core.BaseConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster a source streams from, told by its system identifier (the same on a primary and its physical
 * standbys, different for every initdb) and its timeline (one higher after each promotion), as the
 * replication protocol's {@code IDENTIFY_SYSTEM} reports them. Remembered at the source's first session and
 * compared at every later one: a session on another cluster must never resume, since the slot's position
 * and the event ids mean nothing there; a new timeline means the source followed a failover.
 *
 * <p>Not thread-safe: used by the source's reader thread only.
 */
public final class ClusterIdentity {
    private static final Logger log = LoggerFactory.getLogger(ClusterIdentity.class);
    private @Nullable String systemId;
    private int timeline;
    private String server = "";

    /**
     * Identifies the server of a new replication connection and compares it with the one before.
     *
     * @return whether the timeline changed since the last session: the server is a promoted standby
     * @throws DeltaforgeException when the server belongs to another cluster
     */
    boolean verify(SourceSettings s, Connection replication) throws SQLException {
        String id;
        int tli;
        try (Statement st = replication.createStatement(); ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
            rs.next();
            id = rs.getString("systemid");
            tli = rs.getInt("timeline");
        }
        String where = server(replication);
        String before = systemId;
        if (before == null) {
            remember(id, tli, where);
            return false;
        }
        if (!before.equals(id)) {
            throw new DeltaforgeException("source '" + s.id() + "': the server at " + where + " belongs to another "
                    + "cluster (system identifier " + id + ") than the one this source streamed from (" + before
                    + " at " + server + "); its slot and positions are not this pipeline's, so nothing is resumed "
                    + "there. Fix dsn to name only the primary and standbys of one cluster; if the database was "
                    + "really moved to a new cluster, re-sync the consumers and restart the pipeline there");
        }
        boolean failedOver = tli != timeline;
        if (failedOver) {
            log.warn("source '{}': now connected to {}, timeline {} of cluster {} (before: {}, timeline {}): the "
                    + "cluster failed over; checking slot '{}' there", s.id(), where, tli, id, server, timeline, s.slot());
        }
        remember(id, tli, where);
        return failedOver;
    }

    private void remember(String id, int tli, String where) {
        systemId = id;
        timeline = tli;
        server = where;
    }

    /** host:port of the server this connection reached (with several hosts in dsn, the one pgjdbc chose). */
    static String server(Connection c) {
        try {
            return c.unwrap(BaseConnection.class).getQueryExecutor().getHostSpec().toString();
        } catch (SQLException | RuntimeException e) {
            return "(unknown host)";
        }
    }
}
