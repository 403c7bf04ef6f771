package io.deltaforge.postgres.internal;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.TableId;
import io.deltaforge.postgres.PublicationMode;
import io.deltaforge.postgres.StartPosition;
import io.deltaforge.spi.Heartbeat;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connected replication stream: checks the server, the publication and the slot, starts streaming
 * from the slot's confirmed position and decodes what arrives. A new session is opened on every
 * {@code Source.start()}; a broken one is thrown away.
 *
 * <p>The slot moves only through the {@code acknowledged} value the source shares with it: the reader
 * thread copies it into the stream before each read and on close. Not thread-safe otherwise: every method
 * runs on the reader thread.
 */
public final class ReplicationSession implements AutoCloseable {
    /** The newest server position seen (messages and keep-alives), read by other threads for lag metrics. */
    private volatile @Nullable Lsn newest;

    private static final Logger log = LoggerFactory.getLogger(ReplicationSession.class);
    /** Session settings so that pgoutput's text output is what {@link TypeMapper} expects. */
    static final String SESSION_OPTIONS = TypeMapper.SESSION_OPTIONS;
    /** How long start() waits for a slot that a just-closed connection still holds. */
    private static final Duration ACTIVE_SLOT_GRACE = Duration.ofSeconds(2);
    private static final long MAX_IDLE_SLEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final SourceSettings settings;
    private final AtomicLong acknowledged;
    private final Connection connection;
    private final PGReplicationStream stream;
    private final PgOutputDecoder decoder;
    private final IncrementalSnapshots snapshots;
    private final @Nullable HeartbeatWriter heartbeatWriter;
    /** The flush position last reported to the server; never lower than the slot's confirmed position. */
    private long reported;
    /** The last position handed over as a boundary (commit end or heartbeat). */
    private long lastBoundary;
    private boolean warnedAboutDriverFlush;
    private boolean closed;

    private ReplicationSession(SourceSettings settings, AtomicLong acknowledged, Connection connection,
                               PGReplicationStream stream, long startLsn, AtomicBoolean snapshotRequested,
                               SnapshotMetrics metrics) {
        this.settings = settings;
        this.acknowledged = acknowledged;
        this.connection = connection;
        this.stream = stream;
        // One mapper for streamed and snapshot values, so that a value looks the same either way.
        TypeMapper types = new TypeMapper(new TypeCatalog(() -> connect(settings, false)));
        this.snapshots = new IncrementalSnapshots(settings, acknowledged, snapshotRequested, metrics, types);
        this.decoder = new PgOutputDecoder(settings.id(), settings.tableFilter(), types,
                settings.messages(), settings.toastPlaceholder(), Clock.systemUTC(), snapshots::control);
        this.reported = startLsn;
        this.lastBoundary = startLsn;
        this.heartbeatWriter = settings.heartbeatInterval() == null ? null
                : HeartbeatWriter.start(settings, settings.heartbeatInterval());
    }

    /**
     * Checks the server and starts streaming.
     *
     * @param acknowledged       the source's acknowledged position (0 when none yet); read, never written here
     * @param applyStartPosition whether to apply {@link SourceSettings#startPosition()} (the first start of a
     *                           source) or just resume from the slot (a restart after a failure)
     * @param snapshotRequested  set by whoever stored a new incremental snapshot request; the session reloads
     *                           the requests when it is set
     * @param metrics            where snapshot progress is published
     * @throws RetryableException  when the server is unreachable or the slot is in use
     * @throws DeltaforgeException when the setup is wrong (wal_level, privileges, publication, slot, start
     *                             position); the message says how to fix it
     */
    public static ReplicationSession open(SourceSettings settings, AtomicLong acknowledged,
                                          boolean applyStartPosition) {
        return open(settings, acknowledged, applyStartPosition, new AtomicBoolean(), new SnapshotMetrics());
    }

    /** As above, with incremental snapshot requests signalled through {@code snapshotRequested}. */
    public static ReplicationSession open(SourceSettings settings, AtomicLong acknowledged,
                                          boolean applyStartPosition, AtomicBoolean snapshotRequested,
                                          SnapshotMetrics metrics) {
        long confirmed;
        try (Connection admin = connect(settings, false)) {
            checkServer(settings, admin, null).forEach(log::warn);
            Bookkeeping.adoptLegacy(settings, admin);
            confirmed = prepareSlot(settings, admin, applyStartPosition);
            if (applyStartPosition) {
                confirmed = applyStartPosition(settings, admin, confirmed);
            }
        } catch (SQLException e) {
            throw classify(settings, "cannot check the server", e);
        }
        // Resume after whatever this process already acknowledged, in case the last status update of a
        // previous session did not reach the server; never before the slot's position.
        long start = maxUnsigned(confirmed, acknowledged.get());
        Connection replication = null;
        try {
            replication = connect(settings, true);
            PGReplicationStream stream = replication.unwrap(PGConnection.class).getReplicationAPI()
                    .replicationStream()
                    .logical()
                    .withSlotName(settings.slot())
                    .withSlotOption("proto_version", "1")
                    .withSlotOption("publication_names", quoteIdentifier(settings.publication()))
                    // Always on: watermarks and signals arrive as messages; user messages become events only
                    // when settings.messages() is on (the decoder drops them otherwise).
                    .withSlotOption("messages", "true")
                    .withStartPosition(LogSequenceNumber.valueOf(start))
                    .withStatusInterval((int) Math.min(Integer.MAX_VALUE, settings.statusInterval().toMillis()),
                            TimeUnit.MILLISECONDS)
                    // pgjdbc (since 42.7.0, switchable since 42.7.6, on by default) copies the server's
                    // keepalive LSN into its flushed LSN whenever the last status update covered the start
                    // of the last message received, and reports it with the next status update. That moves
                    // the slot on the driver's guess, from message-start heuristics, not on the engine's
                    // word that the sinks have everything. The slot has one writer, acknowledge(); idle WAL
                    // is released through Heartbeat records instead, after the engine confirms them.
                    .withAutomaticFlush(false)
                    .start();
            // Report the slot's own position, not 0/0, until something newer is acknowledged: some server
            // versions take a reported flush position as-is, even a lower one.
            LogSequenceNumber startLsn = LogSequenceNumber.valueOf(start);
            stream.setFlushedLSN(startLsn);
            stream.setAppliedLSN(startLsn);
            log.info("source '{}': streaming slot '{}' of {} from {} (publication '{}')", settings.id(),
                    settings.slot(), settings.dsn().describe(), new Lsn(start), settings.publication());
            return new ReplicationSession(settings, acknowledged, replication, stream, start, snapshotRequested,
                    metrics);
        } catch (SQLException e) {
            closeQuietly(replication);
            throw classify(settings, "cannot start replication from slot '" + settings.slot() + "'", e);
        }
    }

    /**
     * What {@link #open} checks, changing nothing: the server's settings, the user's privileges, the
     * publication (autocreate's statement runs in a transaction that is rolled back, which proves the user
     * may run it) and the slot; then a replication connection, which pg_hba.conf allows separately.
     *
     * @return notes: identity warnings, and what the first start would create
     * @throws DeltaforgeException naming the fix, as {@link #open} would
     * @throws RetryableException  when the server did not answer
     */
    public static List<String> check(SourceSettings settings) {
        List<String> notes = new ArrayList<>();
        try (Connection admin = connect(settings, false)) {
            admin.setAutoCommit(false);
            try {
                notes.addAll(checkServer(settings, admin, notes));
                SlotInfo slot = readSlot(settings, admin);
                if (slot == null) {
                    if (!settings.createSlot()) {
                        throw missingSlot(settings);
                    }
                    refuseIfDroppedWhileStopped(settings, admin);
                    notes.add("replication slot '" + settings.slot() + "' does not exist yet; the first start "
                            + "creates it");
                } else {
                    checkSlot(settings, slot);
                    if (slot.active) {
                        notes.add("replication slot '" + settings.slot() + "' is in use right now (server process "
                                + slot.activePid + "); a start waits until that reader stops");
                    }
                }
            } finally {
                admin.rollback();
            }
        } catch (SQLException e) {
            throw classify(settings, "cannot check the server", e);
        }
        try (Connection replication = connect(settings, true)) {
            log.debug("source '{}': replication connection accepted by {}", settings.id(), settings.dsn().describe());
        } catch (SQLException e) {
            throw classify(settings, "cannot open a replication connection", e);
        }
        return notes;
    }

    /**
     * The checks {@link #open} and {@link #check} share before the slot: wal_level, the replication privilege,
     * the publication (see {@link #checkPublication(SourceSettings, Connection, List)} for {@code checkNotes});
     * returns the replica identity warnings of the published tables.
     */
    private static List<String> checkServer(SourceSettings s, Connection c, @Nullable List<String> checkNotes)
            throws SQLException {
        checkWalLevel(s, c);
        checkReplicationPrivilege(s, c);
        List<TableId> published = checkPublication(s, c, checkNotes);
        return identityWarnings(s, c, published);
    }

    /**
     * The next record, waiting up to {@code timeout}; null when none arrived.
     *
     * @throws RetryableException when the connection broke
     */
    public @Nullable SourceRecord poll(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
        long sleepNanos = TimeUnit.MILLISECONDS.toNanos(1);
        try {
            while (true) {
                SourceRecord made = snapshots.next();
                if (made != null) {
                    SourceRecord out = boundary(made);
                    if (out != null) {
                        return out;
                    }
                    continue;
                }
                SourceRecord queued = decoder.next();
                if (queued != null) {
                    SourceRecord out = observed(queued);
                    if (out != null) {
                        return out;
                    }
                    continue;
                }
                applyAcknowledged();
                try {
                    snapshots.tick();
                } catch (SQLException e) {
                    throw classify(settings, "incremental snapshot on slot '" + settings.slot() + "' failed", e);
                }
                // readPending, not read(): read() blocks with the socket timeout as its wake-up, which
                // pgjdbc 42.7.11-42.7.13 turned into a dead COPY on an idle slot (pgjdbc issue 4328).
                ByteBuffer message = stream.readPending();
                if (message != null) {
                    Lsn messageLsn = new Lsn(stream.getLastReceiveLSN().asLong());
                    newest = messageLsn;
                    SourceRecord record = decoder.decode(message, messageLsn);
                    if (record != null) {
                        record = observed(record);
                    }
                    if (record != null) {
                        return record;
                    }
                    if (System.nanoTime() - deadline >= 0) {
                        return null; // a long filtered transaction: give the caller its turn
                    }
                    continue;
                }
                Heartbeat heartbeat = heartbeat();
                if (heartbeat != null) {
                    return heartbeat;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return null;
                }
                TimeUnit.NANOSECONDS.sleep(Math.min(sleepNanos, left));
                sleepNanos = Math.min(sleepNanos * 2, MAX_IDLE_SLEEP_NANOS);
            }
        } catch (SQLException e) {
            throw classify(settings, "replication stream of slot '" + settings.slot() + "' broke", e);
        }
    }

    /** Lets the incremental snapshot see the record (it may replace a commit by its chunk), then boundary(). */
    private @Nullable SourceRecord observed(SourceRecord record) {
        SourceRecord out;
        try {
            out = snapshots.observe(record);
        } catch (SQLException e) {
            throw classify(settings, "incremental snapshot on slot '" + settings.slot() + "' failed", e);
        }
        return out == null ? null : boundary(out);
    }

    /** Tracks transaction boundaries; drops a heartbeat message that is not past the last boundary. */
    private @Nullable SourceRecord boundary(SourceRecord record) {
        if (record instanceof TransactionCommit commit) {
            lastBoundary = maxUnsigned(lastBoundary, commit.endLsn().value());
        } else if (record instanceof Heartbeat hb) {
            if (Long.compareUnsigned(hb.lsn().value(), lastBoundary) <= 0) {
                return null;
            }
            lastBoundary = hb.lsn().value();
        }
        return record;
    }

    /**
     * A heartbeat when the server's keepalive position moved past the last boundary while no transaction
     * is open.
     *
     * <p>Why that is safe: with nothing unread, the last receive LSN is the keepalive's WAL position, which
     * the walsender fills with how far it has decoded (its sentPtr, or the end of a transaction it skipped
     * as empty). Every transaction that committed before that point was written to the connection before
     * the keepalive, and we have read the connection in order, so all of them are already handed over.
     * A transaction still open at that point commits later; the server decodes it again after a restart
     * (the slot's restart_lsn stays behind it) and does not skip it, since it skips only commits before
     * the confirmed position. Acknowledging the heartbeat therefore loses nothing and lets an idle or
     * fully filtered source release WAL.
     */
    /** The newest server position this session has seen; null before the first message. Thread-safe. */
    public @Nullable Lsn newestPosition() {
        return newest;
    }

    private @Nullable Heartbeat heartbeat() {
        if (decoder.inTransaction()) {
            return null;
        }
        long received = stream.getLastReceiveLSN().asLong();
        newest = new Lsn(received);
        if (Long.compareUnsigned(received, lastBoundary) <= 0) {
            return null;
        }
        lastBoundary = received;
        return new Heartbeat(new Lsn(received));
    }

    /** Copies the acknowledged position into the stream and reports it when it moved. */
    private void applyAcknowledged() throws SQLException {
        long ack = acknowledged.get();
        boolean moved = Long.compareUnsigned(ack, reported) > 0;
        if (moved) {
            reported = ack;
        }
        LogSequenceNumber lsn = LogSequenceNumber.valueOf(reported);
        if (stream.getLastFlushedLSN().asLong() != reported) {
            // Nothing but this method should change it (automatic flush is off). If a driver version moves
            // it anyway, put it back before the next status update can carry it to the server.
            if (!moved && !warnedAboutDriverFlush) {
                warnedAboutDriverFlush = true;
                log.warn("source '{}': the driver changed the flushed LSN to {} on its own; resetting it to {}",
                        settings.id(), stream.getLastFlushedLSN(), lsn);
            }
            stream.setFlushedLSN(lsn);
            stream.setAppliedLSN(lsn);
        }
        if (moved) {
            stream.forceUpdateStatus();
        }
    }

    /** Reports the last acknowledged position, then stops the stream and disconnects. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        snapshots.close();
        if (heartbeatWriter != null) {
            heartbeatWriter.close();
        }
        try {
            if (!stream.isClosed()) {
                long ack = acknowledged.get();
                if (Long.compareUnsigned(ack, reported) > 0) {
                    reported = ack;
                }
                LogSequenceNumber lsn = LogSequenceNumber.valueOf(reported);
                stream.setFlushedLSN(lsn);
                stream.setAppliedLSN(lsn);
                stream.forceUpdateStatus();
                stream.close();
            }
        } catch (SQLException | RuntimeException e) {
            log.debug("source '{}': closing the replication stream failed: {}", settings.id(), e.getMessage());
        } finally {
            closeQuietly(connection);
        }
    }

    // ---- setup ----------------------------------------------------------------------------------------

    static Connection connect(SourceSettings settings, boolean replication) throws SQLException {
        Dsn dsn = settings.dsn();
        Properties props = dsn.properties();
        props.putIfAbsent(PGProperty.APPLICATION_NAME.getName(), "deltaforge-" + settings.id());
        props.putIfAbsent(PGProperty.CONNECT_TIMEOUT.getName(), "10");
        props.putIfAbsent(PGProperty.TCP_KEEP_ALIVE.getName(), "true");
        if (replication) {
            PGProperty.REPLICATION.set(props, "database");
            PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "10");
            PGProperty.PREFER_QUERY_MODE.set(props, "simple");
            // The walsender formats pgoutput's text values with its own session settings.
            String options = props.getProperty(PGProperty.OPTIONS.getName());
            PGProperty.OPTIONS.set(props, options == null || options.isBlank() ? SESSION_OPTIONS
                    : options + " " + SESSION_OPTIONS);
        }
        return DriverManager.getConnection(dsn.jdbcUrl(), props);
    }

    private static void checkWalLevel(SourceSettings s, Connection c) throws SQLException {
        String level = queryString(c, "SHOW wal_level");
        if (!"logical".equals(level)) {
            throw new DeltaforgeException("source '" + s.id() + "': wal_level is '" + level + "' on "
                    + s.dsn().host() + ":" + s.dsn().port() + "; logical replication needs wal_level=logical: run "
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
                        + "superuser: ALTER ROLE " + quoteIdentifier(user) + " WITH REPLICATION; (on Amazon RDS or "
                        + "Aurora: GRANT rds_replication TO " + quoteIdentifier(user) + ";)");
            }
        }
    }

    /**
     * Checks the publication against {@code tables} (creating or extending it in autocreate mode) and
     * returns the tables whose changes will arrive: the resolved list, or every table of the publication
     * when no list is given.
     */
    static List<TableId> checkPublication(SourceSettings s, Connection c) throws SQLException {
        return checkPublication(s, c, null);
    }

    /**
     * As above; with {@code checkNotes}, a check inside a transaction the caller rolls back: what autocreate
     * runs is noted there instead of logged as done.
     */
    private static List<TableId> checkPublication(SourceSettings s, Connection c, @Nullable List<String> checkNotes)
            throws SQLException {
        boolean exists;
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, s.publication());
            try (ResultSet rs = ps.executeQuery()) {
                exists = rs.next();
            }
        }
        String pub = quoteIdentifier(s.publication());
        if (s.tables().isEmpty()) {
            if (!exists) {
                throw new DeltaforgeException("source '" + s.id() + "': publication '" + s.publication()
                        + "' does not exist in database '" + s.dsn().database() + "'; create it: CREATE PUBLICATION "
                        + pub + " FOR TABLE <schema.table>, ...; (or FOR ALL TABLES), or list the tables in tables "
                        + "and set publication_mode: autocreate");
            }
            return List.copyOf(publicationTables(c, s.publication()));
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
            return List.copyOf(wanted);
        }
        String list = String.join(", ", missing.stream().map(ReplicationSession::quoteTable).toList());
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
        if (checkNotes != null) {
            checkNotes.add("publication_mode autocreate: the first start runs " + sql);
        } else {
            log.info("source '{}': publication_mode autocreate: {}", s.id(), sql);
        }
        return List.copyOf(wanted);
    }

    private static final java.util.Comparator<TableId> TABLE_ORDER =
            java.util.Comparator.comparing(TableId::schema).thenComparing(TableId::table);

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
                                + "cannot name the row; fix: ALTER TABLE " + quoteTable(t) + " ADD PRIMARY KEY (...); "
                                + "or ALTER TABLE " + quoteTable(t) + " REPLICA IDENTITY FULL;");
                    }
                }
            }
        }
        return warnings;
    }

    /**
     * Applies {@code start_position} on the first start: latest advances the slot to the current WAL end, an
     * LSN to that LSN (never backwards). Returns the slot's confirmed position afterwards.
     */
    private static long applyStartPosition(SourceSettings s, Connection c, long confirmed) throws SQLException {
        StartPosition start = s.startPosition();
        long target;
        if (start instanceof StartPosition.Latest) {
            target = Lsn.parse(queryString(c, "SELECT pg_current_wal_lsn()::text")).value();
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
        return maxUnsigned(confirmed, moved);
    }

    /**
     * Makes sure the slot exists, is ours to use and is idle; returns its confirmed flush position.
     *
     * @param firstStart whether this is the source's first session in this process; only then may a missing
     *                   slot be created: a slot that disappears under a running source was dropped, and
     *                   recreating it would silently skip everything written since
     */
    private static long prepareSlot(SourceSettings s, Connection c, boolean firstStart) throws SQLException {
        long graceEnd = System.nanoTime() + ACTIVE_SLOT_GRACE.toNanos();
        while (true) {
            SlotInfo slot = readSlot(s, c);
            if (slot == null) {
                if (!s.createSlot()) {
                    throw missingSlot(s);
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
                    created = createSlot(s, c);
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
            checkSlot(s, slot);
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

    private static DeltaforgeException missingSlot(SourceSettings s) {
        return new DeltaforgeException("source '" + s.id() + "': replication slot '" + s.slot()
                + "' does not exist and create_slot is false; create it: SELECT "
                + "pg_create_logical_replication_slot('" + s.slot() + "', 'pgoutput'); or set create_slot: true");
    }

    /** Fails when an existing slot cannot be this source's: wrong kind, another database, invalidated. */
    private static void checkSlot(SourceSettings s, SlotInfo slot) {
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

    private static @Nullable SlotInfo readSlot(SourceSettings s, Connection c) throws SQLException {
        boolean hasWalStatus = c.getMetaData().getDatabaseMajorVersion() >= 13;
        String sql = "SELECT slot_type, plugin, database, active, active_pid, confirmed_flush_lsn::text, "
                + (hasWalStatus ? "wal_status" : "NULL") + " FROM pg_replication_slots WHERE slot_name = ?";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, s.slot());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                String flush = rs.getString(6);
                return new SlotInfo(rs.getString(1), String.valueOf(rs.getString(2)),
                        String.valueOf(rs.getString(3)), rs.getBoolean(4), rs.getObject(5),
                        flush == null ? null : Lsn.parse(flush).value(), rs.getString(7));
            }
        }
    }

    /**
     * A slot this source created before (its record in {@code deltaforge_snapshots} says so) but that is gone
     * was dropped or invalidated while the pipeline was stopped: creating a new one would silently skip
     * every change since. Without the record table (no privilege to create it) nothing can be told.
     */
    private static void refuseIfDroppedWhileStopped(SourceSettings s, Connection c) {
        InitialSnapshot.Record record;
        try {
            record = InitialSnapshot.record(s, c);
        } catch (SQLException e) {
            return; // the server did not answer the catalog lookup; the slot checks that follow will tell
        }
        if (record != null && record.completed()) {
            throw new DeltaforgeException("source '" + s.id() + "': replication slot '" + s.slot() + "' was created by"
                    + " DeltaForge before but no longer exists: it was dropped or invalidated while the pipeline was"
                    + " stopped, so the changes made since cannot be replayed. Re-sync the consumers (for example"
                    + " with snapshot.mode: initial), then forget the old slot and start again: DELETE FROM "
                    + s.snapshotsTable() + " WHERE slot = '" + s.slot() + "';");
        }
    }

    /** Records the slot about to be made, so that its loss can be told from a first start later. Best effort. */
    private static boolean remember(SourceSettings s, Connection c) {
        try {
            InitialSnapshot.createRecordTable(s, c);
            InitialSnapshot.upsertRecord(s, c, null, true);
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
                + quoteTable(s.snapshotsTable()) + " WHERE slot = ?")) {
            ps.setString(1, s.slot());
            ps.executeUpdate();
        } catch (SQLException e) {
            log.warn("source '{}': cannot remove the record of slot '{}' that was not created: {}", s.id(), s.slot(),
                    e.getMessage());
        }
    }

    /** Creates the slot; null when it already exists (created concurrently). */
    private static @Nullable Long createSlot(SourceSettings s, Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT lsn::text FROM pg_create_logical_replication_slot(?, 'pgoutput')")) {
            ps.setString(1, s.slot());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                Lsn lsn = Lsn.parse(rs.getString(1));
                log.info("source '{}': created replication slot '{}' at {}", s.id(), s.slot(), lsn);
                return lsn.value();
            }
        } catch (SQLException e) {
            if ("42710".equals(e.getSQLState())) { // duplicate_object
                return null;
            }
            if ("53400".equals(e.getSQLState())) { // configuration_limit_exceeded
                throw new DeltaforgeException("source '" + s.id() + "': cannot create replication slot '" + s.slot()
                        + "': all replication slots are in use (max_replication_slots = "
                        + queryString(c, "SHOW max_replication_slots") + "; inactive ones: " + inactiveSlots(c)
                        + "); drop one that is no longer needed (SELECT pg_drop_replication_slot('<name>');) or raise "
                        + "max_replication_slots (ALTER SYSTEM SET max_replication_slots = <n>;) and restart PostgreSQL",
                        e);
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

    private record SlotInfo(String type, String plugin, String database, boolean active, @Nullable Object activePid,
                            @Nullable Long confirmedFlush, @Nullable String walStatus) {
    }

    // ---- helpers --------------------------------------------------------------------------------------

    /**
     * Sorts failures: what waiting may cure (network, server restarting, slot busy) is retryable; wrong
     * credentials, a missing database, slot or publication, missing privileges, certificate problems and an
     * invalidated slot are not. Each message ends with what to do.
     */
    static DeltaforgeException classify(SourceSettings s, String what, SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String message = "source '" + s.id() + "': " + what + " (" + s.dsn().describe() + "): " + e.getMessage()
                + (state.isEmpty() ? "" : " [SQLSTATE " + state + "]");
        if (state.equals("55006")) {                 // object in use: the slot is active elsewhere
            return new RetryableException(message + "; another connection is reading slot '" + s.slot() + "'", e);
        }
        if (certificateProblem(e)) {
            return new DeltaforgeException(message + "; fix: the server's certificate was not accepted: check "
                    + "sslrootcert (the CA that signed it) and, with sslmode=verify-full, that the certificate names "
                    + "host '" + s.dsn().host() + "'", e);
        }
        String fix = switch (state) {
            case "28P01" -> "check the user name and password in dsn (percent-encode special characters in URLs)";
            case "28000" -> "allow the connection in pg_hba.conf, e.g. 'host all " + s.dsn().user()
                    + " <client-ip>/32 scram-sha-256' and 'host replication " + s.dsn().user()
                    + " <client-ip>/32 scram-sha-256', then SELECT pg_reload_conf();";
            case "3D000" -> "create the database (CREATE DATABASE " + quoteIdentifier(s.dsn().database())
                    + ";) or fix the database name in dsn";
            case "42501" -> "grant the missing privilege; for replication: ALTER ROLE "
                    + quoteIdentifier(s.dsn().user()) + " WITH REPLICATION;";
            case "53300" -> "the server has no free connection or WAL sender; raise max_connections / "
                    + "max_wal_senders or stop unused clients; will retry";
            case "08001", "08004", "08006" -> "check host and port in dsn, that PostgreSQL is running and accepts "
                    + "TCP connections there (listen_addresses, firewall); will retry";
            default -> null;
        };
        if (fix != null) {
            message = message + "; fix: " + fix;
        }
        boolean permanent = state.startsWith("28")   // invalid authorization
                || state.equals("3D000")             // database does not exist
                || state.startsWith("42")            // undefined object (slot, publication), privileges, syntax
                || state.equals("55000");            // slot invalidated / not usable
        return permanent ? new DeltaforgeException(message, e) : new RetryableException(message, e);
    }

    /** A certificate that did not verify: no waiting cures that. */
    private static boolean certificateProblem(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.security.cert.CertificateException
                    || t instanceof java.security.cert.CertPathValidatorException
                    || t instanceof javax.net.ssl.SSLPeerUnverifiedException
                    || (t.getMessage() != null && t.getMessage().contains("could not be verified"))) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    private static String queryString(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** {@code "schema"."table"}. */
    static String quoteTable(TableId t) {
        return quoteIdentifier(t.schema()) + "." + quoteIdentifier(t.table());
    }

    /** A double-quoted SQL identifier, so that case and special characters are kept. */
    static String quoteIdentifier(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    private static long maxUnsigned(long a, long b) {
        return Long.compareUnsigned(a, b) >= 0 ? a : b;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RetryableException("interrupted while waiting for the replication slot", e);
        }
    }

    private static void closeQuietly(@Nullable Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (SQLException | RuntimeException e) {
            log.debug("closing a connection failed: {}", e.getMessage());
        }
    }
}
