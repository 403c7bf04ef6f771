package io.deltaforge.postgres.internal;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.TableId;
import io.deltaforge.postgres.PublicationMode;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the server must offer a source before it streams: wal_level, the user's replication privilege, the
 * publication (created or extended in autocreate mode) and keys on its tables. A start runs the checks
 * and changes what autocreate changes ({@link #beforeStart}); {@link #check} runs them changing nothing.
 */
public final class ServerChecks {
    private static final Logger log = LoggerFactory.getLogger(ServerChecks.class);

    private ServerChecks() {
    }

    /**
     * What {@link ReplicationSession#open} checks, changing nothing: the server's settings, the user's
     * privileges, the publication (autocreate's statement runs in a transaction that is rolled back, which
     * proves the user may run it) and the slot; then a replication connection, which pg_hba.conf allows
     * separately.
     *
     * @return notes: identity warnings, what the first start would create, and what a failover to a standby
     *         still needs
     * @throws DeltaforgeException naming the fix, as {@link ReplicationSession#open} would
     * @throws RetryableException  when the server did not answer
     */
    public static List<String> check(SourceSettings settings) {
        List<String> notes = new ArrayList<>();
        try (Connection admin = Connections.admin(settings)) {
            admin.setAutoCommit(false);
            try {
                checkRole(settings, admin);
                Publication publication = publication(settings, admin);
                if (publication.autocreate() != null) {
                    notes.add("publication_mode autocreate: the first start runs " + publication.autocreate());
                }
                notes.addAll(identityWarnings(settings, admin, publication.tables()));
                notes.addAll(Slots.inspect(settings, admin));
                notes.addAll(FailoverChecks.notes(settings, admin));
            } finally {
                admin.rollback();
            }
        } catch (SQLException e) {
            throw SqlStates.classify(settings, "cannot check the server", e);
        }
        try (Connection replication = Connections.replication(settings)) {
            log.debug("source '{}': replication connection accepted by {}", settings.id(), settings.dsn().describe());
        } catch (SQLException e) {
            throw SqlStates.classify(settings, "cannot open a replication connection", e);
        }
        return notes;
    }

    /**
     * The checks before a start, on the connection that then prepares the slot, after {@link #checkRole}: the
     * publication (autocreate's statement runs and is logged).
     *
     * @return the replica identity warnings of the published tables
     */
    static List<String> beforeStart(SourceSettings s, Connection c) throws SQLException {
        return identityWarnings(s, c, publishedTables(s, c));
    }

    /**
     * The tables whose changes will arrive, after checking the publication (autocreate's statement runs
     * and is logged).
     */
    static List<TableId> publishedTables(SourceSettings s, Connection c) throws SQLException {
        Publication publication = publication(s, c);
        if (publication.autocreate() != null) {
            log.info("source '{}': publication_mode autocreate: {}", s.id(), publication.autocreate());
        }
        return publication.tables();
    }

    /**
     * What the server must allow before any publication or slot matters: logical WAL, and this user. A start
     * runs it first, since it explains a refused replication connection best.
     */
    static void checkRole(SourceSettings s, Connection c) throws SQLException {
        checkWalLevel(s, c);
        checkReplicationPrivilege(s, c);
    }

    private static void checkWalLevel(SourceSettings s, Connection c) throws SQLException {
        String level = Sql.queryString(c, "SHOW wal_level");
        if (!"logical".equals(level)) {
            throw new DeltaforgeException("source '" + s.id() + "': wal_level is '" + level + "' on "
                    + ClusterIdentity.server(c) + "; logical replication needs wal_level=logical: run "
                    + "ALTER SYSTEM SET wal_level = logical; (or set it in postgresql.conf) and restart PostgreSQL");
        }
    }

    /** Fails unless the user may replicate: superuser, REPLICATION attribute, or rds_replication member. */
    private static void checkReplicationPrivilege(SourceSettings s, Connection c) throws SQLException {
        String sql = "SELECT r.rolname, r.rolsuper OR r.rolreplication OR COALESCE((SELECT pg_has_role(r.oid, m.oid, "
                + "'MEMBER') FROM pg_roles m WHERE m.rolname = 'rds_replication'), false) "
                + "FROM pg_roles r WHERE r.rolname = current_user";
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            if (rs.next() && !rs.getBoolean(2)) {
                String user = rs.getString(1);
                throw new DeltaforgeException("source '" + s.id() + "': user '" + user + "' may not use logical "
                        + "replication (it has neither the REPLICATION attribute nor superuser); grant it as a "
                        + "superuser: ALTER ROLE " + Sql.quoteIdentifier(user) + " WITH REPLICATION; (on Amazon RDS or "
                        + "Aurora: GRANT rds_replication TO " + Sql.quoteIdentifier(user) + ";)");
            }
        }
    }

    /**
     * Checks the publication against {@code tables} (creating or extending it in autocreate mode) and
     * returns the tables whose changes will arrive: the resolved list, or every table of the publication
     * when no list is given; with the statement autocreate ran, if any.
     */
    private static Publication publication(SourceSettings s, Connection c) throws SQLException {
        boolean exists;
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, s.publication());
            try (ResultSet rs = ps.executeQuery()) {
                exists = rs.next();
            }
        }
        String pub = Sql.quoteIdentifier(s.publication());
        if (s.tables().isEmpty()) {
            if (!exists) {
                throw new DeltaforgeException("source '" + s.id() + "': publication '" + s.publication()
                        + "' does not exist in database '" + s.dsn().database() + "'; create it: CREATE PUBLICATION "
                        + pub + " FOR TABLE <schema.table>, ...; (or FOR ALL TABLES), or list the tables in tables "
                        + "and set publication_mode: autocreate");
            }
            return new Publication(List.copyOf(publicationTables(c, s.publication())), null);
        }
        Set<TableId> inDatabase = databaseTables(c);
        Set<TableId> published = exists ? publicationTables(c, s.publication()) : Set.of();
        Set<TableId> wanted = new LinkedHashSet<>();
        List<String> problems = new ArrayList<>();
        for (TablePattern p : s.tables()) {
            if (!p.isGlob()) {
                TableId id = p.tableId();
                if (inDatabase.contains(id)) {
                    wanted.add(id);
                } else {
                    problems.add("table " + id + " (tables: '" + p + "') does not exist in database '"
                            + s.dsn().database() + "'; create it or fix the name (names are case-sensitive and "
                            + "schema-qualified, as \\dt shows them)");
                }
            } else {
                List<TableId> matches = inDatabase.stream().filter(p::matches).sorted(TABLE_ORDER).toList();
                if (matches.isEmpty()) {
                    problems.add("pattern '" + p + "' matches no table in database '" + s.dsn().database()
                            + "'; fix the pattern or create the tables first");
                }
                wanted.addAll(matches);
            }
        }
        if (!problems.isEmpty()) {
            throw new DeltaforgeException("source '" + s.id() + "': " + String.join("; ", problems));
        }
        List<TableId> missing = wanted.stream().filter(t -> !published.contains(t)).toList();
        if (missing.isEmpty()) {
            return new Publication(List.copyOf(wanted), null);
        }
        String list = String.join(", ", missing.stream().map(Sql::quoteTable).toList());
        if (s.publicationMode() == PublicationMode.EXISTING) {
            if (!exists) {
                throw new DeltaforgeException("source '" + s.id() + "': publication '" + s.publication()
                        + "' does not exist in database '" + s.dsn().database() + "'; create it: CREATE PUBLICATION "
                        + pub + " FOR TABLE " + list + "; or set publication_mode: autocreate");
            }
            throw new DeltaforgeException("source '" + s.id() + "': publication '" + s.publication()
                    + "' does not include " + missing.stream().map(TableId::toString).toList()
                    + ", listed in tables; add them: ALTER PUBLICATION " + pub + " ADD TABLE " + list
                    + "; (or remove them from tables, or set publication_mode: autocreate)");
        }
        String sql = exists ? "ALTER PUBLICATION " + pub + " ADD TABLE " + list
                : "CREATE PUBLICATION " + pub + " FOR TABLE " + list;
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            if ("42710".equals(e.getSQLState())) { // created concurrently by another source: check again later
                throw new RetryableException("source '" + s.id() + "': publication '" + s.publication()
                        + "' was created concurrently; will check it again", e);
            }
            throw new DeltaforgeException("source '" + s.id() + "': publication_mode autocreate could not run "
                    + sql + ": " + e.getMessage() + "; the user needs CREATE on the database and ownership of the "
                    + "tables, or create the publication yourself and use publication_mode: existing", e);
        }
        return new Publication(List.copyOf(wanted), sql);
    }

    /** The tables a publication delivers, and the statement autocreate ran to get there (null if none). */
    private record Publication(List<TableId> tables, @Nullable String autocreate) {
    }

    private static final Comparator<TableId> TABLE_ORDER =
            Comparator.comparing(TableId::schema).thenComparing(TableId::table);

    private static Set<TableId> databaseTables(Connection c) throws SQLException {
        Set<TableId> out = new HashSet<>();
        String sql = "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                + "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(new TableId(rs.getString(1), rs.getString(2)));
            }
        }
        return out;
    }

    private static Set<TableId> publicationTables(Connection c, String publication) throws SQLException {
        Set<TableId> out = new LinkedHashSet<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = ? ORDER BY 1, 2")) {
            ps.setString(1, publication);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new TableId(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return out;
    }

    /**
     * One warning per table that has no way to identify rows: REPLICA IDENTITY NOTHING, or DEFAULT without
     * a primary key. While such a table is published for updates and deletes, PostgreSQL rejects its
     * UPDATE and DELETE statements, and events could not say which row changed.
     */
    static List<String> identityWarnings(SourceSettings s, Connection c, List<TableId> tables) throws SQLException {
        List<String> warnings = new ArrayList<>();
        String sql = "SELECT c.relreplident, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid "
                + "AND (i.indisprimary OR i.indisreplident)) FROM pg_class c JOIN pg_namespace n "
                + "ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ?";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (TableId t : tables) {
                ps.setString(1, t.schema());
                ps.setString(2, t.table());
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        continue;
                    }
                    String identity = rs.getString(1);
                    boolean keyed = rs.getBoolean(2);
                    if ("n".equals(identity) || (("d".equals(identity) || "i".equals(identity)) && !keyed)) {
                        String how = "n".equals(identity) ? "REPLICA IDENTITY NOTHING" : "no primary key or replica "
                                + "identity index";
                        warnings.add("source '" + s.id() + "': table " + t + " has " + how + ": PostgreSQL rejects "
                                + "its UPDATE and DELETE while the publication publishes them, and change events "
                                + "cannot name the row; fix: ALTER TABLE " + Sql.quoteTable(t)
                                + " ADD PRIMARY KEY (...); or ALTER TABLE " + Sql.quoteTable(t)
                                + " REPLICA IDENTITY FULL;");
                    }
                }
            }
        }
        return warnings;
    }
}
