package io.deltaforge.postgres.internal;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.ConfigException.Problem;
import io.deltaforge.api.TableId;
import io.deltaforge.api.internal.condition.Condition;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * Incremental snapshot requests and their progress, kept in the source database in
 * {@code deltaforge_snapshot_progress} (in {@link SourceSettings#bookkeepingSchema()}): one row per (slot, snapshot id, table) with the last key of the
 * last acknowledged chunk, the rows done and a state ({@code pending}, {@code running}, {@code done}). The
 * table is created when missing and never emitted (see {@link SourceSettings#tableFilter()}).
 *
 * <p>Stateless: every method takes the connection to use; callers serialize their own use of it.
 */
public final class SnapshotStore {

    private SnapshotStore() {
    }

    /**
     * Validates and stores a request made through the API; returns its snapshot id.
     *
     * @throws ConfigException     naming each problem of the request
     * @throws io.deltaforge.api.DeltaforgeException when the server cannot be reached or the request stored
     */
    public static String request(SourceSettings s, List<String> tables, @Nullable String condition) {
        @Nullable Condition parsed = parse(condition);
        try (Connection c = Connections.textValues(s)) {
            Bookkeeping.adoptLegacy(s, c);
            List<TableId> resolved = validate(s, c, tables, parsed);
            String snapshotId = newSnapshotId(s, c);
            insert(s, c, snapshotId, resolved, parsed);
            return snapshotId;
        } catch (SQLException e) {
            throw SqlStates.classify(s, "cannot store the snapshot request " + tables, e);
        }
    }

    /**
     * Parses a request's condition (null: none) before anything reaches the server.
     *
     * @throws ConfigException naming the problem and its position
     */
    static @Nullable Condition parse(@Nullable String condition) {
        if (condition == null || condition.isBlank()) {
            return null;
        }
        try {
            return Condition.parse(condition);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("condition", e.getMessage() + "; see docs/snapshots.md for the condition "
                    + "grammar");
        }
    }

    /** One table of one request, as stored; {@code condition} is canonical grammar text. */
    record Entry(String snapshotId, int ordinal, TableId table, @Nullable String condition,
                 String @Nullable [] lastKey, long rowsDone, String state) {
    }

    private static final String COLUMNS = "slot text NOT NULL, snapshot_id text NOT NULL, ordinal int NOT NULL, "
            + "schema_name text NOT NULL, table_name text NOT NULL, condition text, last_key text[], rows_done bigint "
            + "NOT NULL DEFAULT 0, state text NOT NULL DEFAULT 'pending', requested_at timestamptz NOT NULL DEFAULT "
            + "now(), updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (slot, snapshot_id, schema_name, "
            + "table_name)";

    static void createTable(SourceSettings s, Connection c) throws SQLException {
        Bookkeeping.ensureTable(s, c, s.progressTable(), COLUMNS);
    }

    private static String table(SourceSettings s) {
        return Sql.quoteTable(s.progressTable());
    }

    /**
     * Checks a request against the server: every table captured by the source and keyed, the condition's
     * columns in each table and its literals readable as their columns' types, and the user allowed to write
     * watermarks. Returns the resolved tables.
     *
     * @throws ConfigException listing every problem
     */
    static List<TableId> validate(SourceSettings s, Connection c, List<String> tables, @Nullable Condition condition)
            throws SQLException {
        List<Problem> problems = new ArrayList<>();
        Set<TableId> captured = Set.copyOf(ServerChecks.publishedTables(s, c).stream()
                .filter(s.tableFilter()).toList());
        List<TableId> resolved = new ArrayList<>();
        TypeMapper types = new TypeMapper(new TypeCatalog(() -> Connections.textValues(s)));
        for (int i = 0; i < tables.size(); i++) {
            String path = "tables[" + i + "]";
            TableId table;
            try {
                TablePattern p = TablePattern.parse(tables.get(i));
                if (p.isGlob()) {
                    problems.add(new Problem(path, "'" + tables.get(i) + "' is a pattern; name each table, e.g. "
                            + "public.users"));
                    continue;
                }
                table = p.tableId();
            } catch (IllegalArgumentException e) {
                problems.add(new Problem(path, e.getMessage()));
                continue;
            }
            if (!captured.contains(table)) {
                problems.add(new Problem(path, "table " + table + " is not captured by source '" + s.id()
                        + "' (captured: " + captured.stream().map(TableId::toString).sorted().toList()
                        + "); snapshot only tables in its publication '" + s.publication() + "' and tables list"));
                continue;
            }
            TableScan scan = TableScan.describe(c, s.publication(), table, types, TableScan.KeyChoice.IDENTITY);
            if (scan.key.length == 0) {
                problems.add(new Problem(path, "table " + table + " has no primary key or replica identity index, so "
                        + "its rows cannot be told apart across transactions (ctid changes on update); fix: ALTER "
                        + "TABLE " + Sql.quoteTable(table) + " ADD PRIMARY KEY (...);"));
                continue;
            }
            if (condition != null) {
                String problem = conditionProblem(c, condition, scan);
                if (problem != null) {
                    problems.add(new Problem("condition", problem));
                    continue;
                }
            }
            if (!resolved.contains(table)) {
                resolved.add(table);
            }
        }
        if (problems.isEmpty()) {
            String denied = emitMessageDenied(c);
            if (denied != null) {
                problems.add(new Problem("source", "user '" + s.dsn().user() + "' may not call " + denied
                        + ", which incremental snapshots use for their watermarks; grant it as a superuser: GRANT "
                        + "EXECUTE ON FUNCTION " + denied + " TO " + Sql.quoteIdentifier(s.dsn().user())
                        + ";"));
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return resolved;
    }

    /**
     * Why the condition cannot filter the table, or null when it can: a column it lacks, a literal its column's
     * type cannot read, or a comparison the type does not support. The checks run the rendered, parameterized
     * SQL only: the casts alone, then EXPLAIN (which resolves the operators without reading a row).
     */
    private static @Nullable String conditionProblem(Connection c, Condition condition, TableScan scan)
            throws SQLException {
        ConditionSql sql;
        try {
            sql = scan.render(condition);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        List<String> checks = new ArrayList<>();
        String literals = sql.literalsQuery();
        if (literals != null) {
            checks.add(literals);
        }
        checks.add("EXPLAIN SELECT 1 FROM " + Sql.quoteTable(scan.table) + " WHERE " + sql.sql());
        for (String query : checks) {
            try (PreparedStatement ps = c.prepareStatement(query)) {
                sql.bind(ps, 1);
                ps.execute();
            } catch (SQLException e) {
                if (e.getSQLState() == null || e.getSQLState().startsWith("08")) {
                    throw e;
                }
                return "'" + condition.canonical() + "' cannot filter table " + scan.table + ": "
                        + firstLine(e.getMessage()) + "; write each literal as its column's type reads text, e.g. "
                        + "'2026-12-01T00:00:00Z' for a timestamptz, and compare only types that have the operator";
            }
        }
        return null;
    }

    private static String firstLine(@Nullable String message) {
        return message == null ? "" : message.lines().findFirst().orElse("").replaceFirst("^ERROR: ", "");
    }

    /**
     * The signature of the text variant of pg_logical_emit_message when the user may not execute it, else
     * null. (PostgreSQL 18 added a fourth parameter, so the signature is looked up, not assumed.)
     */
    private static @Nullable String emitMessageDenied(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT p.oid::regprocedure::text, has_function_privilege(p.oid, 'EXECUTE') FROM pg_proc p "
                + "WHERE p.proname = 'pg_logical_emit_message' AND p.proargtypes[2] = 'text'::regtype")) {
            String denied = null;
            while (rs.next()) {
                if (rs.getBoolean(2)) {
                    return null;
                }
                denied = rs.getString(1);
            }
            return denied;
        }
    }

    /** A new snapshot id for a request made through the API: the slot, the current WAL position, a nonce. */
    static String newSnapshotId(SourceSettings s, Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_current_wal_lsn()::text")) {
            rs.next();
            return s.slot() + "@" + rs.getString(1) + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(
                    0x1000, 0x10000));
        }
    }

    /**
     * Stores a request; returns false when a request with this id exists already (a signal replayed after a
     * restart).
     */
    static boolean insert(SourceSettings s, Connection c, String snapshotId, List<TableId> tables,
                          @Nullable Condition condition) throws SQLException {
        createTable(s, c);
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table(s) + " (slot, snapshot_id, ordinal, "
                + "schema_name, table_name, condition) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            int inserted = 0;
            for (int i = 0; i < tables.size(); i++) {
                ps.setString(1, s.slot());
                ps.setString(2, snapshotId);
                ps.setInt(3, i);
                ps.setString(4, tables.get(i).schema());
                ps.setString(5, tables.get(i).table());
                // The grammar text, never SQL: a resumed request is parsed and checked again.
                ps.setString(6, condition == null ? null : condition.canonical());
                inserted += ps.executeUpdate();
            }
            c.commit();
            return inserted > 0;
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(autoCommit);
        }
    }

    /** Whether a request with this id is stored for the slot. */
    static boolean exists(SourceSettings s, Connection c, String snapshotId) throws SQLException {
        if (!Bookkeeping.mayUse(c, s.progressTable(), "SELECT")) {
            return false;
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM " + table(s) + " WHERE slot = ? AND snapshot_id = ?")) {
            ps.setString(1, s.slot());
            ps.setString(2, snapshotId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Whether every table of the request is done. */
    static boolean finished(SourceSettings s, Connection c, String snapshotId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM " + table(s) + " WHERE slot = ? AND snapshot_id = ? "
                + "AND state <> 'done'")) {
            ps.setString(1, s.slot());
            ps.setString(2, snapshotId);
            try (ResultSet rs = ps.executeQuery()) {
                return !rs.next();
            }
        }
    }

    /** Every table of the slot's requests that is not done, oldest request first, tables in request order. */
    static List<Entry> open(SourceSettings s, Connection c) throws SQLException {
        List<Entry> out = new ArrayList<>();
        if (!Bookkeeping.mayUse(c, s.progressTable(), "SELECT")) { // no request was ever made (or none for us)
            return out;
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT snapshot_id, ordinal, schema_name, table_name, "
                + "condition, last_key, rows_done, state FROM " + table(s) + " WHERE slot = ? AND state <> 'done' "
                + "ORDER BY requested_at, snapshot_id, ordinal")) {
            ps.setString(1, s.slot());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Array key = rs.getArray(6);
                    String[] lastKey = null;
                    if (key != null) {
                        Object[] parts = (Object[]) key.getArray();
                        lastKey = new String[parts.length];
                        for (int i = 0; i < parts.length; i++) {
                            lastKey[i] = (String) parts[i];
                        }
                    }
                    out.add(new Entry(rs.getString(1), rs.getInt(2), new TableId(rs.getString(3), rs.getString(4)),
                            rs.getString(5), lastKey, rs.getLong(7), rs.getString(8)));
                }
            }
        }
        return out;
    }

    /** Records an acknowledged chunk. */
    static void progress(SourceSettings s, Connection c, String snapshotId, TableId table, String @Nullable [] lastKey,
                         long rowsDone, boolean done) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE " + table(s) + " SET last_key = ?, rows_done = ?, "
                + "state = ?, updated_at = now() WHERE slot = ? AND snapshot_id = ? AND schema_name = ? "
                + "AND table_name = ?")) {
            ps.setArray(1, lastKey == null ? null : c.createArrayOf("text", lastKey));
            ps.setLong(2, rowsDone);
            ps.setString(3, done ? "done" : "running");
            ps.setString(4, s.slot());
            ps.setString(5, snapshotId);
            ps.setString(6, table.schema());
            ps.setString(7, table.table());
            ps.executeUpdate();
        }
    }
}
