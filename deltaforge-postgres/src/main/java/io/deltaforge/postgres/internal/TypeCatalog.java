package io.deltaforge.postgres.internal;

import io.deltaforge.api.RetryableException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.StringJoiner;
import org.jspecify.annotations.Nullable;

/**
 * Reads {@link TypeInfo} for non-built-in types from {@code pg_type}, {@code pg_range} and
 * {@code pg_attribute}, following element, base, bound and field types to any depth in one query.
 *
 * <p>A replication connection cannot run catalog queries, so the lookups run on an ordinary connection from
 * the given {@link ConnectionSource}: a new one per lookup, or with {@link #keepingConnection} one kept open
 * between lookups. A streaming session keeps its connection: pgoutput sends a table's Relation message again
 * after anything that invalidates the table's cache entry, autovacuum's ANALYZE included, and opening a
 * connection there (33–72 ms on an idle 2-core box, over 200 ms under load) held up every
 * change behind it, where a query on the kept connection takes about half a millisecond.
 *
 * <pre>{@code
 * TypeMapper types = new TypeMapper(new TypeCatalog(() -> DriverManager.getConnection(url, props)));
 * types.prepare(relationTypeOids);     // on each Relation message
 * }</pre>
 *
 * <p>Thread-safe; close it to close a kept connection.
 */
public final class TypeCatalog implements TypeMapper.Lookup, AutoCloseable {
    /** Opens a new ordinary (not replication) connection to the source database. */
    @FunctionalInterface
    public interface ConnectionSource {
        Connection open() throws SQLException;
    }

    /*
     * Multiranges (and pg_range.rngmultitypid) exist from PostgreSQL 14; the query below has a variant for
     * older servers without them.
     */
    private static final String QUERY = """
            WITH RECURSIVE wanted(oid, depth) AS (
                SELECT o, 0 FROM unnest(?::oid[]) AS o
              UNION
                SELECT d.dep, w.depth + 1
                FROM wanted w
                JOIN pg_type t ON t.oid = w.oid
                CROSS JOIN LATERAL (
                    SELECT t.typelem AS dep WHERE t.typlen = -1 AND t.typelem <> 0
                    UNION ALL SELECT t.typbasetype WHERE t.typtype = 'd'
                    UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = t.oid
                    %1$s
                    UNION ALL SELECT a.atttypid FROM pg_attribute a
                        WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
                ) d
                WHERE d.dep >= 16384 AND w.depth < 32
            )
            SELECT t.oid::int8, n.nspname::text, t.typname::text, t.typtype::text,
                   CASE WHEN t.typlen = -1 AND t.typelem <> 0 THEN t.typelem ELSE 0 END::int8 AS element,
                   coalesce((SELECT e.typdelim FROM pg_type e WHERE e.oid = t.typelem), ',')::text AS delimiter,
                   CASE t.typtype
                       WHEN 'd' THEN t.typbasetype
                       WHEN 'r' THEN (SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = t.oid)
                       %2$s
                       ELSE 0 END::int8 AS base,
                   (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
                        WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped),
                   (SELECT array_agg(a.atttypid::int8 ORDER BY a.attnum) FROM pg_attribute a
                        WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped),
                   (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e
                        WHERE t.typtype = 'e' AND e.enumtypid = t.oid)
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE t.oid IN (SELECT oid FROM wanted)
            """;
    private static final String QUERY_14 = String.format(QUERY,
            "UNION ALL SELECT r.rngtypid FROM pg_range r WHERE r.rngmultitypid = t.oid",
            "WHEN 'm' THEN (SELECT r.rngsubtype FROM pg_range r WHERE r.rngmultitypid = t.oid)");
    private static final String QUERY_OLD = String.format(QUERY, "", "");

    /** Catalog work on a connection; the connection is not the work's to close. */
    @FunctionalInterface
    private interface CatalogQuery<T> {
        T run(Connection c) throws SQLException;
    }

    private final ConnectionSource connections;
    private final boolean keepConnection;
    private @Nullable Connection kept;
    private boolean closed;

    /** @param connections opens a connection per lookup; never null */
    public TypeCatalog(ConnectionSource connections) {
        this(connections, false);
    }

    private TypeCatalog(ConnectionSource connections, boolean keepConnection) {
        this.connections = Objects.requireNonNull(connections, "connections");
        this.keepConnection = keepConnection;
    }

    /**
     * A catalog that opens its connection at the first lookup and keeps it until {@link #close()}; the
     * connection runs each query in a transaction of its own (autocommit), so it holds no snapshot between them.
     */
    public static TypeCatalog keepingConnection(ConnectionSource connections) {
        return new TypeCatalog(connections, true);
    }

    private <T> T query(CatalogQuery<T> query) throws SQLException {
        if (!keepConnection) {
            try (Connection c = connections.open()) {
                return query.run(c);
            }
        }
        synchronized (this) {
            if (closed) {
                throw new SQLException("the type catalog of this session is closed");
            }
            boolean reused = kept != null;
            try {
                return query.run(connection());
            } catch (SQLException e) {
                discardKept();
                if (!reused) {
                    throw e;
                }
                // The server may have ended a connection kept idle (idle_session_timeout, a restart): one
                // attempt on a new connection tells that from a catalog that cannot be read.
                try {
                    return query.run(connection());
                } catch (SQLException again) {
                    discardKept();
                    throw again;
                }
            }
        }
    }

    private Connection connection() throws SQLException {
        if (kept == null) {
            Connection opened = connections.open();
            try {
                // A transaction left open between lookups would hold back vacuum's horizon for the session's life.
                opened.setAutoCommit(true);
            } catch (SQLException e) {
                Connections.closeQuietly(opened);
                throw e;
            }
            kept = opened;
        }
        return kept;
    }

    private void discardKept() {
        Connections.closeQuietly(kept);
        kept = null;
    }

    /** Closes the kept connection, if any; a catalog that keeps its connection fails later lookups. Idempotent. */
    @Override
    public synchronized void close() {
        closed = true;
        discardKept();
    }

    /**
     * @throws RetryableException when the catalog cannot be read (connection lost, server restarting); the
     *                            session is restarted and the Relation message comes again
     */
    @Override
    public Map<Integer, TypeInfo> describe(Set<Integer> oids) {
        try {
            return query(c -> describe(c, oids));
        } catch (SQLException e) {
            throw new RetryableException("cannot read the type catalog (pg_type) for type OIDs " + oids
                    + ": " + e.getMessage(), e);
        }
    }

    /**
     * @throws RetryableException when the catalog cannot be read; the session is restarted and the Relation
     *                            message comes again
     */
    @Override
    public TypeMapper.TableColumns tableColumns(int relationOid) {
        try {
            return query(c -> tableColumns(c, relationOid));
        } catch (SQLException e) {
            throw new RetryableException("cannot read the NOT NULL columns and defaults of the table with OID "
                    + Integer.toUnsignedString(relationOid) + " (pg_attribute, pg_attrdef): " + e.getMessage(), e);
        }
    }

    private static TypeMapper.TableColumns tableColumns(Connection c, int relationOid) throws SQLException {
        // Generated columns keep their expression in pg_attrdef too; it is no DEFAULT.
        try (PreparedStatement ps = c.prepareStatement("SELECT a.attname::text, a.attnotnull, "
                + "CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END "
                + "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                + "WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped")) {
            ps.setLong(1, Integer.toUnsignedLong(relationOid));
            Set<String> notNull = new java.util.HashSet<>();
            Map<String, String> defaults = new HashMap<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (rs.getBoolean(2)) {
                        notNull.add(rs.getString(1));
                    }
                    String expression = rs.getString(3);
                    if (expression != null) {
                        defaults.put(rs.getString(1), expression);
                    }
                }
            }
            return new TypeMapper.TableColumns(notNull, defaults);
        }
    }

    /** Reads the types and everything they are built from, on a connection the caller owns. */
    static Map<Integer, TypeInfo> describe(Connection c, Set<Integer> oids) throws SQLException {
        Map<Integer, TypeInfo> out = new HashMap<>();
        if (oids.isEmpty()) {
            return out;
        }
        StringJoiner list = new StringJoiner(",", "{", "}");
        for (int oid : oids) {
            list.add(Integer.toUnsignedString(oid));
        }
        String sql = c.getMetaData().getDatabaseMajorVersion() >= 14 ? QUERY_14 : QUERY_OLD;
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, list.toString());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int oid = (int) rs.getLong(1);
                    String kind = rs.getString(4);
                    String delimiter = rs.getString(6);
                    List<String> names = strings(rs.getArray(8));
                    List<Integer> types = oids(rs.getArray(9));
                    out.put(oid, new TypeInfo(oid, rs.getString(2), rs.getString(3),
                            kind == null || kind.isEmpty() ? 'b' : kind.charAt(0), (int) rs.getLong(5),
                            delimiter == null || delimiter.isEmpty() ? ',' : delimiter.charAt(0),
                            (int) rs.getLong(7), names, types, strings(rs.getArray(10))));
                }
            }
        }
        return out;
    }

    private static List<String> strings(@Nullable Array array) throws SQLException {
        if (array == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (Object o : (Object[]) array.getArray()) {
            out.add((String) o);
        }
        return out;
    }

    private static List<Integer> oids(@Nullable Array array) throws SQLException {
        if (array == null) {
            return List.of();
        }
        List<Integer> out = new ArrayList<>();
        for (Object o : (Object[]) array.getArray()) {
            out.add(((Number) o).intValue());
        }
        return out;
    }
}
