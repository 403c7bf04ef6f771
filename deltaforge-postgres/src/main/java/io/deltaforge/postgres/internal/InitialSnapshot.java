package io.deltaforge.postgres.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.postgres.SnapshotMode;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.ReplicationSlotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The initial snapshot of a source: creates the slot with an exported snapshot, reads every captured table
 * in that snapshot and hands its rows out one by one as {@link Op#READ} events, then one
 * {@link TransactionCommit} at the slot's consistent point.
 *
 * <p>Why it is exact: the exported snapshot shows every transaction that committed before the slot's
 * consistent point C and none after; the slot streams exactly the transactions that commit after C. So
 * every row is delivered once as a snapshot row, and every later change once as a stream event, in that
 * order. The rows are read in one REPEATABLE READ transaction that imported the snapshot, keyset-paginated
 * by primary key ({@code ctid} order for tables without one), {@code chunkSize} rows per query, so memory
 * is bounded by the chunk size. Values come as the server's output-function text (binary transfer off,
 * the streaming session options) through the same {@link TypeMapper} as streaming, so a value looks the
 * same either way.
 *
 * <p>Completion: no commit is emitted until the last row; the engine acknowledges C only when every row
 * before it was delivered, and only then is the snapshot recorded as completed in
 * {@code public.deltaforge_snapshots(slot, snapshot_id, completed_at)}, in the source database. A row
 * with {@code completed_at} null means a snapshot was started and not delivered: the next start drops
 * the slot (nothing was streamed from it yet) and takes a new snapshot. Row ids are
 * {@code EventIds.forSnapshotRow(slot@C, table, key)}: a redone snapshot reads a different state, so it
 * must not share ids with the abandoned one (JetStream would drop its rows as duplicates of rows that may
 * have changed since).
 *
 * <p>Not thread-safe: every method runs on the source's reader thread.
 */
public final class InitialSnapshot implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(InitialSnapshot.class);

    private final SourceSettings settings;
    private final Connection replication;
    private final Connection reader;
    private final TypeMapper types;
    private final List<TableId> tables;
    private final Lsn consistentPoint;
    private final String snapshotId;
    private final Instant snapshotTime;
    private final ArrayDeque<ChangeEvent> chunk = new ArrayDeque<>();
    private int tableIndex = -1;
    private @Nullable TableReader current;
    private int emitted;
    private boolean commitEmitted;
    private boolean closed;

    private InitialSnapshot(SourceSettings settings, Connection replication, Connection reader,
                            List<TableId> tables, Lsn consistentPoint, String snapshotId) {
        this.settings = settings;
        this.replication = replication;
        this.reader = reader;
        this.types = new TypeMapper(new TypeCatalog(() -> connect(settings)));
        this.tables = tables;
        this.consistentPoint = consistentPoint;
        this.snapshotId = snapshotId;
        this.snapshotTime = Instant.now();
    }

    /**
     * Decides whether a snapshot is due and, if so, creates the slot and opens the snapshot; null when the
     * source should just stream (snapshot completed before, or the slot is not ours to create).
     *
     * @throws DeltaforgeException when the slot exists but was not created by a snapshot of this source
     * @throws RetryableException  when the server is unreachable or the slot is busy
     */
    public static @Nullable InitialSnapshot begin(SourceSettings s) {
        List<TableId> captured;
        try (Connection admin = connect(s)) {
            try {
                createRecordTable(admin);
            } catch (SQLException e) {
                throw ReplicationSession.classify(s, "cannot create table " + SourceSettings.SNAPSHOTS_TABLE
                        + " for snapshot progress (the user needs CREATE on schema public, or create it: CREATE "
                        + "TABLE public.deltaforge_snapshots (slot text PRIMARY KEY, snapshot_id text, completed_at "
                        + "timestamptz))", e);
            }
            boolean slotExists = slotExists(s, admin);
            Record record = record(s, admin);
            if (slotExists) {
                if (record == null) {
                    throw new DeltaforgeException("source '" + s.id() + "': snapshot.mode is "
                            + s.snapshotMode().name().toLowerCase() + " but slot '" + s.slot() + "' already exists "
                            + "and was not created by a snapshot, so a snapshot consistent with it cannot be taken; "
                            + "drop the slot to snapshot from scratch (SELECT pg_drop_replication_slot('" + s.slot()
                            + "');) or set snapshot.mode: never");
                }
                if (record.completed) {
                    if (s.snapshotMode() == SnapshotMode.ALWAYS) {
                        log.warn("source '{}': snapshot.mode always: slot '{}' already has a completed snapshot "
                                + "({}); repeating it on an existing slot is not supported yet, streaming instead",
                                s.id(), s.slot(), record.snapshotId);
                    }
                    return null;
                }
                log.warn("source '{}': the snapshot {} of slot '{}' was started but never delivered completely; "
                        + "dropping the slot (nothing was streamed from it yet) and taking a new snapshot",
                        s.id(), record.snapshotId == null ? "(not yet named)" : record.snapshotId, s.slot());
                dropSlot(s, admin);
            } else if (!s.createSlot()) {
                return null; // the session reports the missing slot
            }
            captured = new ArrayList<>();
            for (TableId t : ReplicationSession.checkPublication(s, admin)) {
                if (s.tableFilter().test(t)) {
                    captured.add(t);
                }
            }
            // Recorded before the slot exists: a crash between the two then leaves a record without a slot,
            // which simply means "snapshot again", never a slot that looks foreign.
            upsertRecord(s, admin, null, false);
        } catch (SQLException e) {
            throw ReplicationSession.classify(s, "cannot prepare the snapshot", e);
        }
        Connection replication = null;
        Connection reader = null;
        try {
            replication = ReplicationSession.connect(s, true);
            ReplicationSlotInfo info = replication.unwrap(PGConnection.class).getReplicationAPI()
                    .createReplicationSlot().logical()
                    .withSlotName(s.slot())
                    .withOutputPlugin("pgoutput")
                    .make();
            Lsn point = new Lsn(info.getConsistentPoint().asLong());
            String snapshotId = s.slot() + "@" + point;
            reader = connect(s);
            try (Statement st = reader.createStatement()) {
                st.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
                st.execute("SET TRANSACTION SNAPSHOT '" + info.getSnapshotName().replace("'", "''") + "'");
            }
            try (Connection admin = connect(s)) {
                upsertRecord(s, admin, snapshotId, false);
            }
            log.info("source '{}': created slot '{}' at {}; snapshot {} of {} table(s): {}", s.id(), s.slot(), point,
                    snapshotId, captured.size(), captured);
            return new InitialSnapshot(s, replication, reader, List.copyOf(captured), point, snapshotId);
        } catch (SQLException | RuntimeException e) {
            closeQuietly(reader);
            closeQuietly(replication);
            if (e instanceof SQLException sql) {
                throw ReplicationSession.classify(s, "cannot start the snapshot of slot '" + s.slot() + "'", sql);
            }
            throw (RuntimeException) e;
        }
    }

    /** The slot's consistent point: the position of the final commit. */
    public Lsn consistentPoint() {
        return consistentPoint;
    }

    /** {@code slot@consistentPoint}; part of every row id. */
    public String snapshotId() {
        return snapshotId;
    }

    /** The next snapshot row, the final commit, or null once the commit was handed out. */
    public @Nullable SourceRecord next() {
        if (closed) {
            throw new IllegalStateException("snapshot " + snapshotId + " is closed");
        }
        try {
            while (chunk.isEmpty()) {
                if (commitEmitted) {
                    return null;
                }
                if (current == null || current.done) {
                    tableIndex++;
                    if (tableIndex >= tables.size()) {
                        commitEmitted = true;
                        try (Statement st = reader.createStatement()) {
                            st.execute("COMMIT");
                        }
                        log.info("source '{}': snapshot {} read: {} rows; waiting for their delivery", settings.id(),
                                snapshotId, emitted);
                        return new TransactionCommit(0, consistentPoint, consistentPoint, snapshotTime, emitted);
                    }
                    current = new TableReader(tables.get(tableIndex));
                }
                current.readChunk();
            }
            return chunk.poll();
        } catch (SQLException e) {
            throw ReplicationSession.classify(settings, "snapshot " + snapshotId + " failed while reading "
                    + (current == null ? "" : current.table), e);
        }
    }

    /** Whether the final commit was handed out and {@code acknowledged} covers it. */
    public boolean delivered(long acknowledged) {
        return commitEmitted && Long.compareUnsigned(acknowledged, consistentPoint.value()) >= 0;
    }

    /** Records the snapshot as completed; call once {@link #delivered} is true. */
    public void markCompleted() {
        try (Connection admin = connect(settings)) {
            upsertRecord(settings, admin, snapshotId, true);
        } catch (SQLException e) {
            throw ReplicationSession.classify(settings, "cannot record snapshot " + snapshotId + " as completed", e);
        }
        log.info("source '{}': snapshot {} delivered: {} rows", settings.id(), snapshotId, emitted);
    }

    /** Ends the read transaction and releases the exported snapshot. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(reader);
        closeQuietly(replication);
    }

    /** Reads one table, a chunk at a time, in primary-key order (ctid order without one). */
    private final class TableReader {
        final TableId table;
        final List<String> columns = new ArrayList<>();
        final List<Integer> typeOids = new ArrayList<>();
        /** Indexes into columns of the key columns, in key order; empty: page by ctid. */
        final List<Integer> key = new ArrayList<>();
        final List<String> keyTypes = new ArrayList<>();
        final List<String> keyColumns;
        final String rowFilter;
        final long estimate;
        final long started = System.nanoTime();
        String @Nullable [] lastKey;
        long rows;
        boolean done;

        TableReader(TableId table) throws SQLException {
            this.table = table;
            Set<String> published = publishedColumns(table);
            String sql = "SELECT a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod), "
                    + "(SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i "
                    + "WHERE i.indrelid = a.attrelid AND i.indisprimary) "
                    + "FROM pg_attribute a WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped "
                    + "AND a.attgenerated = '' ORDER BY a.attnum";
            List<Integer> keyPositions = new ArrayList<>();
            try (PreparedStatement ps = reader.prepareStatement(sql)) {
                ps.setString(1, ReplicationSession.quoteTable(table));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String name = rs.getString(1);
                        if (published != null && !published.contains(name)) {
                            continue;
                        }
                        int index = columns.size();
                        columns.add(name);
                        typeOids.add((int) rs.getLong(2));
                        int pos = rs.getInt(4);
                        if (!rs.wasNull()) {
                            key.add(index);
                            keyTypes.add(rs.getString(3));
                            keyPositions.add(pos);
                        }
                    }
                }
            }
            // Key columns in index order, not table order.
            Integer[] order = new Integer[key.size()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Integer.compare(keyPositions.get(a), keyPositions.get(b)));
            List<Integer> sortedKey = new ArrayList<>();
            List<String> sortedTypes = new ArrayList<>();
            for (Integer i : order) {
                sortedKey.add(key.get(i));
                sortedTypes.add(keyTypes.get(i));
            }
            key.clear();
            key.addAll(sortedKey);
            keyTypes.clear();
            keyTypes.addAll(sortedTypes);
            keyColumns = key.stream().map(columns::get).toList();
            rowFilter = rowFilter(table);
            types.prepare(typeOids.stream().mapToInt(Integer::intValue).toArray());
            estimate = estimate(table);
        }

        void readChunk() throws SQLException {
            StringBuilder sql = new StringBuilder("SELECT ");
            if (key.isEmpty()) {
                // Aliased: ORDER BY ctid would otherwise sort by this text column, not by the tuple id.
                sql.append("ctid::text AS deltaforge_ctid, ");
            }
            for (int i = 0; i < columns.size(); i++) {
                sql.append(i == 0 ? "" : ", ").append(ReplicationSession.quoteIdentifier(columns.get(i)));
            }
            if (columns.isEmpty()) {
                sql.append("NULL");
            }
            sql.append(" FROM ").append(ReplicationSession.quoteTable(table));
            List<String> conditions = new ArrayList<>();
            if (rowFilter != null) {
                conditions.add("(" + rowFilter + ")");
            }
            if (lastKey != null) {
                if (key.isEmpty()) {
                    conditions.add("ctid > ?::tid");
                } else {
                    StringBuilder left = new StringBuilder("(");
                    StringBuilder right = new StringBuilder("(");
                    for (int i = 0; i < key.size(); i++) {
                        left.append(i == 0 ? "" : ", ").append(ReplicationSession.quoteIdentifier(columns.get(key.get(i))));
                        right.append(i == 0 ? "" : ", ").append("?::").append(keyTypes.get(i));
                    }
                    conditions.add(left + ") > " + right + ")");
                }
            }
            if (!conditions.isEmpty()) {
                sql.append(" WHERE ").append(String.join(" AND ", conditions));
            }
            sql.append(" ORDER BY ");
            if (key.isEmpty()) {
                sql.append("ctid");
            } else {
                for (int i = 0; i < key.size(); i++) {
                    sql.append(i == 0 ? "" : ", ").append(ReplicationSession.quoteIdentifier(columns.get(key.get(i))));
                }
            }
            int limit = settings.snapshotChunkSize();
            sql.append(" LIMIT ").append(limit);
            int offset = key.isEmpty() ? 1 : 0;
            int count = 0;
            try (PreparedStatement ps = reader.prepareStatement(sql.toString())) {
                if (lastKey != null) {
                    for (int i = 0; i < lastKey.length; i++) {
                        ps.setString(i + 1, lastKey[i]);
                    }
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        count++;
                        Object[] values = new Object[columns.size()];
                        String[] texts = new String[columns.size()];
                        for (int i = 0; i < columns.size(); i++) {
                            String text = rs.getString(offset + i + 1);
                            texts[i] = text;
                            values[i] = text == null ? null : types.map(typeOids.get(i), text);
                        }
                        String[] keyText;
                        String idKey;
                        if (key.isEmpty()) {
                            keyText = new String[] {rs.getString(1)};
                            idKey = "ctid:" + keyText[0];
                        } else {
                            keyText = new String[key.size()];
                            StringBuilder id = new StringBuilder();
                            for (int i = 0; i < key.size(); i++) {
                                keyText[i] = texts[key.get(i)];
                                // Length-prefixed, so that no two keys render alike.
                                id.append(keyText[i].length()).append(':').append(keyText[i]);
                            }
                            idKey = id.toString();
                        }
                        lastKey = keyText;
                        int index = emitted++;
                        chunk.add(new ChangeEvent(EventIds.forSnapshotRow(snapshotId, table, idKey), settings.id(),
                                Op.READ, table, null, Row.of(columns, values),
                                new SourcePosition(consistentPoint, consistentPoint, index, 0, snapshotTime),
                                1, List.of(), null, keyColumns));
                    }
                }
            }
            rows += count;
            if (count < limit) {
                done = true;
            }
            double secs = Math.max(1e-3, (System.nanoTime() - started) / 1e9);
            log.info("source '{}': snapshot {}: {} rows of ~{} ({} rows/s){}", settings.id(), table, rows,
                    Math.max(estimate, rows), Math.round(rows / secs), done ? ", table done" : "");
        }
    }

    /** The publication's column list for the table (PostgreSQL 15+), or null for every column. */
    private @Nullable Set<String> publishedColumns(TableId table) throws SQLException {
        if (reader.getMetaData().getDatabaseMajorVersion() < 15) {
            return null;
        }
        try (PreparedStatement ps = reader.prepareStatement("SELECT attnames FROM pg_publication_tables "
                + "WHERE pubname = ? AND schemaname = ? AND tablename = ?")) {
            ps.setString(1, settings.publication());
            ps.setString(2, table.schema());
            ps.setString(3, table.table());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                Array names = rs.getArray(1);
                if (names == null) {
                    return null;
                }
                Set<String> out = new HashSet<>();
                for (Object o : (Object[]) names.getArray()) {
                    out.add(String.valueOf(o));
                }
                return out;
            }
        }
    }

    /** The publication's row filter for the table (PostgreSQL 15+), or null. */
    private @Nullable String rowFilter(TableId table) throws SQLException {
        if (reader.getMetaData().getDatabaseMajorVersion() < 15) {
            return null;
        }
        try (PreparedStatement ps = reader.prepareStatement("SELECT rowfilter FROM pg_publication_tables "
                + "WHERE pubname = ? AND schemaname = ? AND tablename = ?")) {
            ps.setString(1, settings.publication());
            ps.setString(2, table.schema());
            ps.setString(3, table.table());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private long estimate(TableId table) throws SQLException {
        try (PreparedStatement ps = reader.prepareStatement(
                "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = ?::regclass")) {
            ps.setString(1, ReplicationSession.quoteTable(table));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        }
    }

    // ---- bookkeeping ----------------------------------------------------------------------------------

    record Record(@Nullable String snapshotId, boolean completed) {
    }

    static void createRecordTable(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS " + ReplicationSession.quoteTable(SourceSettings.SNAPSHOTS_TABLE)
                    + " (slot text PRIMARY KEY, snapshot_id text, completed_at timestamptz)");
        }
    }

    static @Nullable Record record(SourceSettings s, Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT snapshot_id, completed_at IS NOT NULL FROM "
                + ReplicationSession.quoteTable(SourceSettings.SNAPSHOTS_TABLE) + " WHERE slot = ?")) {
            ps.setString(1, s.slot());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new Record(rs.getString(1), rs.getBoolean(2)) : null;
            }
        }
    }

    static void upsertRecord(SourceSettings s, Connection c, @Nullable String snapshotId, boolean completed)
            throws SQLException {
        String completedAt = completed ? "now()" : "NULL";
        // The record decides what the next start does with the slot; it must survive a server crash even
        // where synchronous_commit is off.
        try (Statement st = c.createStatement()) {
            st.execute("SET synchronous_commit = on");
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO "
                + ReplicationSession.quoteTable(SourceSettings.SNAPSHOTS_TABLE) + " (slot, snapshot_id, completed_at) "
                + "VALUES (?, ?, " + completedAt + ") ON CONFLICT (slot) DO UPDATE SET snapshot_id = "
                + "EXCLUDED.snapshot_id, completed_at = EXCLUDED.completed_at")) {
            ps.setString(1, s.slot());
            ps.setString(2, snapshotId);
            ps.executeUpdate();
        }
    }

    private static boolean slotExists(SourceSettings s, Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, s.slot());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static void dropSlot(SourceSettings s, Connection c) throws SQLException {
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
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RetryableException("interrupted while dropping slot '" + s.slot() + "'", e);
            }
        }
    }

    /**
     * A normal connection whose text output is what {@link TypeMapper} expects: the streaming session
     * options, and no binary transfer, so every value arrives as its type's output-function text, exactly as
     * pgoutput sends it.
     */
    static Connection connect(SourceSettings settings) throws SQLException {
        Properties props = settings.dsn().properties();
        props.putIfAbsent(PGProperty.APPLICATION_NAME.getName(), "deltaforge-" + settings.id() + "-snapshot");
        props.putIfAbsent(PGProperty.CONNECT_TIMEOUT.getName(), "10");
        props.putIfAbsent(PGProperty.TCP_KEEP_ALIVE.getName(), "true");
        PGProperty.BINARY_TRANSFER.set(props, "false");
        String options = props.getProperty(PGProperty.OPTIONS.getName());
        PGProperty.OPTIONS.set(props, options == null || options.isBlank() ? TypeMapper.SESSION_OPTIONS
                : options + " " + TypeMapper.SESSION_OPTIONS);
        return DriverManager.getConnection(settings.dsn().jdbcUrl(), props);
    }

    private static void closeQuietly(@Nullable Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (SQLException | RuntimeException e) {
            log.debug("closing a snapshot connection failed: {}", e.getMessage());
        }
    }
}
