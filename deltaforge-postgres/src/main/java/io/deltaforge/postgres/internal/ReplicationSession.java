package io.deltaforge.postgres.internal;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.TableId;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
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
    private static final Logger log = LoggerFactory.getLogger(ReplicationSession.class);
    /** Session settings so that pgoutput's text output is what {@link TypeMapper} expects. */
    static final String SESSION_OPTIONS = "-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3";
    /** How long start() waits for a slot that a just-closed connection still holds. */
    private static final Duration ACTIVE_SLOT_GRACE = Duration.ofSeconds(2);
    private static final long MAX_IDLE_SLEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final SourceSettings settings;
    private final AtomicLong acknowledged;
    private final Connection connection;
    private final PGReplicationStream stream;
    private final PgOutputDecoder decoder;
    /** The flush position last reported to the server; never lower than the slot's confirmed position. */
    private long reported;
    /** The last position handed over as a boundary (commit end or heartbeat). */
    private long lastBoundary;
    private boolean warnedAboutDriverFlush;
    private boolean closed;

    private ReplicationSession(SourceSettings settings, AtomicLong acknowledged, Connection connection,
                               PGReplicationStream stream, long startLsn) {
        this.settings = settings;
        this.acknowledged = acknowledged;
        this.connection = connection;
        this.stream = stream;
        this.decoder = new PgOutputDecoder(settings.id(), settings.tables(), new TypeMapper());
        this.reported = startLsn;
        this.lastBoundary = startLsn;
    }

    /**
     * Checks the server and starts streaming.
     *
     * @param acknowledged the source's acknowledged position (0 when none yet); read, never written here
     * @throws RetryableException  when the server is unreachable or the slot is in use
     * @throws DeltaforgeException when the setup is wrong (wal_level, publication, slot); the message says
     *                             how to fix it
     */
    public static ReplicationSession open(SourceSettings settings, AtomicLong acknowledged) {
        long confirmed;
        try (Connection admin = connect(settings, false)) {
            checkWalLevel(settings, admin);
            checkPublication(settings, admin);
            confirmed = prepareSlot(settings, admin);
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
            return new ReplicationSession(settings, acknowledged, replication, stream, start);
        } catch (SQLException e) {
            closeQuietly(replication);
            throw classify(settings, "cannot start replication from slot '" + settings.slot() + "'", e);
        }
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
                applyAcknowledged();
                // readPending, not read(): read() blocks with the socket timeout as its wake-up, which
                // pgjdbc 42.7.11-42.7.13 turned into a dead COPY on an idle slot (pgjdbc issue 4328).
                ByteBuffer message = stream.readPending();
                if (message != null) {
                    Lsn messageLsn = new Lsn(stream.getLastReceiveLSN().asLong());
                    SourceRecord record = decoder.decode(message, messageLsn);
                    if (record instanceof TransactionCommit commit) {
                        lastBoundary = maxUnsigned(lastBoundary, commit.endLsn().value());
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
    private @Nullable Heartbeat heartbeat() {
        if (decoder.inTransaction()) {
            return null;
        }
        long received = stream.getLastReceiveLSN().asLong();
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

    private static void checkPublication(SourceSettings s, Connection c) throws SQLException {
        boolean exists;
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, s.publication());
            try (ResultSet rs = ps.executeQuery()) {
                exists = rs.next();
            }
        }
        if (!exists) {
            String target = s.tables().isEmpty() ? "ALL TABLES" : "TABLE " + String.join(", ",
                    s.tables().stream().map(TableId::toString).sorted().toList());
            throw new DeltaforgeException("source '" + s.id() + "': publication '" + s.publication()
                    + "' does not exist in database '" + s.dsn().database() + "'; create it: CREATE PUBLICATION "
                    + quoteIdentifier(s.publication()) + " FOR " + target + ";");
        }
        if (!s.tables().isEmpty()) {
            List<String> missing = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT 1 FROM pg_publication_tables WHERE pubname = ? AND schemaname = ? AND tablename = ?")) {
                for (TableId t : s.tables()) {
                    ps.setString(1, s.publication());
                    ps.setString(2, t.schema());
                    ps.setString(3, t.table());
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            missing.add(t.toString());
                        }
                    }
                }
            }
            if (!missing.isEmpty()) {
                log.warn("source '{}': publication '{}' does not include {}, so no changes of them will arrive; "
                                + "add them: ALTER PUBLICATION {} ADD TABLE {};", s.id(), s.publication(), missing,
                        quoteIdentifier(s.publication()), String.join(", ", missing));
            }
        }
    }

    /** Makes sure the slot exists, is ours to use and is idle; returns its confirmed flush position. */
    private static long prepareSlot(SourceSettings s, Connection c) throws SQLException {
        boolean hasWalStatus = c.getMetaData().getDatabaseMajorVersion() >= 13;
        long graceEnd = System.nanoTime() + ACTIVE_SLOT_GRACE.toNanos();
        while (true) {
            SlotInfo slot = readSlot(s, c, hasWalStatus);
            if (slot == null) {
                if (!s.createSlot()) {
                    throw new DeltaforgeException("source '" + s.id() + "': replication slot '" + s.slot()
                            + "' does not exist and create_slot is false; create it: SELECT "
                            + "pg_create_logical_replication_slot('" + s.slot() + "', 'pgoutput'); "
                            + "or set create_slot: true");
                }
                Long created = createSlot(s, c);
                if (created != null) {
                    return created;
                }
                continue; // someone else created it meanwhile: check it like any existing slot
            }
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
            if (slot.active) {
                if (System.nanoTime() - graceEnd < 0) {
                    sleep(100);
                    continue;
                }
                throw new RetryableException("source '" + s.id() + "': replication slot '" + s.slot()
                        + "' is in use by another connection (server process " + slot.activePid + "); only one "
                        + "reader per slot: stop the other reader or give this source its own slot");
            }
            if (s.startPosition() == StartPosition.LATEST) {
                log.info("source '{}': slot '{}' exists; resuming from its position {} (start_position "
                        + "latest applies only to a new slot)", s.id(), s.slot(), new Lsn(slot.confirmedFlush));
            }
            return slot.confirmedFlush;
        }
    }

    private static @Nullable SlotInfo readSlot(SourceSettings s, Connection c, boolean hasWalStatus)
            throws SQLException {
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
            throw e;
        }
    }

    private record SlotInfo(String type, String plugin, String database, boolean active, @Nullable Object activePid,
                            @Nullable Long confirmedFlush, @Nullable String walStatus) {
    }

    // ---- helpers --------------------------------------------------------------------------------------

    /**
     * Sorts failures: what waiting may cure (network, server restarting, slot busy) is retryable; wrong
     * credentials, a missing database, slot or publication and an invalidated slot are not.
     */
    static DeltaforgeException classify(SourceSettings s, String what, SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String message = "source '" + s.id() + "': " + what + " (" + s.dsn().describe() + "): " + e.getMessage()
                + (state.isEmpty() ? "" : " [SQLSTATE " + state + "]");
        boolean permanent = state.startsWith("28")   // invalid authorization
                || state.equals("3D000")             // database does not exist
                || state.startsWith("42")            // undefined object (slot, publication), privileges, syntax
                || state.equals("55000");            // slot invalidated / not usable
        if (state.equals("55006")) {                 // object in use: the slot is active elsewhere
            return new RetryableException(message + "; another connection is reading slot '" + s.slot() + "'", e);
        }
        return permanent ? new DeltaforgeException(message, e) : new RetryableException(message, e);
    }

    private static String queryString(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
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
