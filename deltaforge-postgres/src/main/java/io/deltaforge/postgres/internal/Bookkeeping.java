package io.deltaforge.postgres.internal;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.TableId;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The schema where the source keeps its own tables ({@code deltaforge_snapshots},
 * {@code deltaforge_snapshot_progress}; see {@link SourceSettings#bookkeepingSchema()}).
 *
 * <p>Everything is decided from the catalog before a statement could fail, so that a normal start leaves no
 * ERROR in the server's log, and a missing privilege is reported with the exact grant. Tables of an earlier
 * version in schema {@code public} are moved into the configured schema once, on first use, when the new
 * schema has none yet (see {@link #adoptLegacy}).
 *
 * <p>Stateless; every method takes the connection to use.
 */
final class Bookkeeping {
    private static final Logger log = LoggerFactory.getLogger(Bookkeeping.class);
    static final String SNAPSHOTS = "deltaforge_snapshots";
    static final String PROGRESS = "deltaforge_snapshot_progress";
    /** Where versions before bookkeeping_schema kept the tables. */
    static final String LEGACY_SCHEMA = "public";

    private Bookkeeping() {
    }

    /** Whether the table exists; a catalog lookup, never a failing query. */
    static boolean exists(Connection c, TableId table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_class r JOIN pg_namespace n ON n.oid = "
                + "r.relnamespace WHERE n.nspname = ? AND r.relname = ?")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.table());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /**
     * Creates {@code table} with {@code columns} unless it exists, creating the schema first when needed and
     * allowed; checks that the user may read and write it.
     *
     * @throws DeltaforgeException naming the grant (or the statements a privileged user runs) when the user
     *                             may not create the schema or the table, or not write the table
     */
    static void ensureTable(SourceSettings s, Connection c, TableId table, String columns) throws SQLException {
        String user = Sql.quoteIdentifier(s.dsn().user());
        String schema = Sql.quoteIdentifier(table.schema());
        String create = "CREATE TABLE IF NOT EXISTS " + Sql.quoteTable(table) + " (" + columns + ")";
        if (!exists(c, table)) {
            SchemaRights rights = schemaRights(c, table.schema());
            if (!rights.exists) {
                if (!rights.createInDatabase) {
                    throw denied(s, table, "may not create schema " + schema, "GRANT CREATE ON DATABASE "
                            + Sql.quoteIdentifier(s.dsn().database()) + " TO " + user + ";");
                }
                try (Statement st = c.createStatement()) {
                    st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
                }
                log.info("source '{}': created schema {} for its bookkeeping tables", s.id(), schema);
            } else if (!rights.usage || !rights.create) {
                throw denied(s, table, "may not create tables in schema " + schema, "GRANT USAGE, CREATE ON SCHEMA "
                        + schema + " TO " + user + ";");
            }
            try (Statement st = c.createStatement()) {
                st.execute(create);
            }
            return;
        }
        if (!mayUse(c, table, "SELECT", "INSERT", "UPDATE")) {
            throw new DeltaforgeException("source '" + s.id() + "': user " + user + " may not read and write its "
                    + "bookkeeping table " + table + "; grant it as the table's owner: GRANT USAGE ON SCHEMA " + schema
                    + " TO " + user + "; GRANT SELECT, INSERT, UPDATE, DELETE ON " + Sql.quoteTable(table)
                    + " TO " + user + ";");
        }
    }

    /**
     * Whether the user may use the existing table with each of these privileges (and its schema). By oid,
     * since a name in a schema without USAGE would fail to resolve, with an ERROR in the server's log.
     */
    static boolean mayUse(Connection c, TableId table, String... privileges) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT has_schema_privilege(n.oid, 'USAGE')");
        for (String privilege : privileges) {
            sql.append(" AND has_table_privilege(r.oid, '").append(privilege).append("')");
        }
        sql.append(" FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = ? "
                + "AND r.relname = ?");
        try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
            ps.setString(1, table.schema());
            ps.setString(2, table.table());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private static DeltaforgeException denied(SourceSettings s, TableId table, String what, String grant) {
        String user = Sql.quoteIdentifier(s.dsn().user());
        String schema = Sql.quoteIdentifier(table.schema());
        return new DeltaforgeException("source '" + s.id() + "': user " + user + " " + what + " for the "
                + "bookkeeping table " + table + " (set by bookkeeping_schema); fix, as a superuser or the database "
                + "owner: " + grant + " or create the schema yourself: CREATE SCHEMA IF NOT EXISTS " + schema
                + "; GRANT USAGE, CREATE ON SCHEMA " + schema + " TO " + user + ";");
    }

    private record SchemaRights(boolean exists, boolean usage, boolean create, boolean createInDatabase) {
    }

    private static SchemaRights schemaRights(Connection c, String schema) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT n.oid IS NOT NULL, "
                + "n.oid IS NOT NULL AND has_schema_privilege(n.oid, 'USAGE'), "
                + "n.oid IS NOT NULL AND has_schema_privilege(n.oid, 'CREATE'), "
                + "has_database_privilege(current_database(), 'CREATE') "
                + "FROM (SELECT (SELECT oid FROM pg_namespace WHERE nspname = ?) AS oid) n")) {
            ps.setString(1, schema);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new SchemaRights(rs.getBoolean(1), rs.getBoolean(2), rs.getBoolean(3), rs.getBoolean(4));
            }
        }
    }

    /**
     * Moves the bookkeeping tables an earlier version kept in schema {@code public} into the configured schema,
     * when that schema has neither of them yet: a snapshot record or an open request is kept, never silently
     * forgotten. Nothing happens when the configured schema is {@code public}, or the new tables exist.
     *
     * @throws DeltaforgeException naming the statements to run (or {@code bookkeeping_schema: public}) when the
     *                             user may not move them
     */
    static void adoptLegacy(SourceSettings s, Connection c) throws SQLException {
        if (s.bookkeepingSchema().equals(LEGACY_SCHEMA)
                || exists(c, s.snapshotsTable()) || exists(c, s.progressTable())) {
            return;
        }
        List<String> legacy = new ArrayList<>();
        for (String name : List.of(SNAPSHOTS, PROGRESS)) {
            if (exists(c, new TableId(LEGACY_SCHEMA, name))) {
                legacy.add(name);
            }
        }
        if (legacy.isEmpty()) {
            return;
        }
        String schema = Sql.quoteIdentifier(s.bookkeepingSchema());
        List<String> moves = legacy.stream().map(name -> "ALTER TABLE " + LEGACY_SCHEMA + "." + name
                + " SET SCHEMA " + schema + ";").toList();
        SchemaRights rights = schemaRights(c, s.bookkeepingSchema());
        boolean mayMove = ownsAll(c, legacy) && (rights.exists ? rights.usage && rights.create : rights.createInDatabase);
        if (!mayMove) {
            String user = Sql.quoteIdentifier(s.dsn().user());
            throw new DeltaforgeException("source '" + s.id() + "': found bookkeeping tables of an earlier version in "
                    + "schema public (" + legacy + ") but none in schema " + schema + " (bookkeeping_schema), and user "
                    + user + " may not move them there; either move them as their owner: CREATE SCHEMA IF NOT EXISTS "
                    + schema + "; " + String.join(" ", moves) + " GRANT USAGE, CREATE ON SCHEMA " + schema + " TO " + user
                    + "; (and GRANT SELECT, INSERT, UPDATE, DELETE on each moved table TO " + user + ";) or keep them "
                    + "where they are with bookkeeping_schema: public");
        }
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
            for (String move : moves) {
                st.execute(move);
            }
            c.commit();
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(autoCommit);
        }
        log.info("source '{}': moved the bookkeeping tables {} from schema public to schema {} (bookkeeping_schema)",
                s.id(), legacy, schema);
    }

    /** Whether the current user owns (or is a member of the owner of) every one of these public tables. */
    private static boolean ownsAll(Connection c, List<String> tables) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT bool_and(pg_has_role(r.relowner, 'USAGE')) FROM "
                + "pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = ? AND r.relname = ANY (?)")) {
            ps.setString(1, LEGACY_SCHEMA);
            ps.setArray(2, c.createArrayOf("text", tables.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }
}
