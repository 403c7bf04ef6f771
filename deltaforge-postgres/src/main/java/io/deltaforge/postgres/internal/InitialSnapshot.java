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
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;
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
 * {@code deltaforge_snapshots(slot, snapshot_id, completed_at)}, in the source database (in
 * {@link SourceSettings#bookkeepingSchema()}). A row
 * with {@code completed_at} null means a snapshot was started and not delivered: the next start resumes it
 * when it is a watermark snapshot with a stored request (see {@link #begin(SourceSettings, boolean)}), and
 * otherwise drops the slot and takes a new snapshot.
 *
 * <p>This class is the exported-snapshot path ({@code initial_only}, and {@code initial} when a captured
 * table has no key); {@link #begin(SourceSettings, boolean)} also decides when the watermark path is used. Row ids are
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
        this.types = new TypeMapper(new TypeCatalog(() -> Connections.textValues(settings)));
        this.tables = tables;
        this.consistentPoint = consistentPoint;
        this.snapshotId = snapshotId;
        this.snapshotTime = Instant.now();
    }

    /**
     * Decides whether a snapshot is due and, if so, creates the slot and opens the snapshot; null when the
     * source should just stream (snapshot completed before, or the slot is not ours to create). For
     * {@code initial} and {@code always}, when every captured table has a primary key (or replica identity
     * index), no exported snapshot is taken: the slot is created, a request for every captured table is
     * stored with snapshot id {@code slot@C} (C: the slot's consistent point), and null is returned, so that
     * the source streams from C and the session reads the tables between watermarks (see
     * {@link IncrementalSnapshots}); an interrupted one then resumes after its last acknowledged chunk.
     * {@code always} also requests a new snapshot of every captured table on the first start of a process
     * when the slot exists and no request is open.
     *
     * @param firstStart whether this is the source's first start in this process
     * @throws DeltaforgeException when the slot exists but was not created by a snapshot of this source
     * @throws RetryableException  when the server is unreachable or the slot is busy
     */
    public static @Nullable InitialSnapshot begin(SourceSettings s, boolean firstStart) {
        List<TableId> captured;
        try (Connection admin = Connections.textValues(s)) {
            Bookkeeping.adoptLegacy(s, admin);
            SnapshotRecords.createTable(s, admin);
            boolean slotExists = Slots.exists(s, admin);
            SnapshotRecords.Record record = SnapshotRecords.read(s, admin);
            if (slotExists) {
                if (record == null) {
                    throw new DeltaforgeException("source '" + s.id() + "': snapshot.mode is "
                            + s.snapshotMode().name().toLowerCase() + " but slot '" + s.slot() + "' already exists "
                            + "and was not created by a snapshot, so a snapshot consistent with it cannot be taken; "
                            + "drop the slot to snapshot from scratch (SELECT pg_drop_replication_slot('" + s.slot()
                            + "');) or set snapshot.mode: never");
                }
                if (record.completed()) {
                    if (s.snapshotMode() == SnapshotMode.ALWAYS && firstStart
                            && SnapshotStore.open(s, admin).isEmpty()) {
                        List<TableId> all = captured(s, admin);
                        if (keyed(s, admin, all)) {
                            String id = SnapshotStore.newSnapshotId(s, admin);
                            SnapshotStore.insert(s, admin, id, all, null);
                            log.info("source '{}': snapshot.mode always: snapshot {} of {} table(s) requested; it runs "
                                    + "while streaming", s.id(), id, all.size());
                        } else {
                            log.warn("source '{}': snapshot.mode always: not repeated on existing slot '{}', since a "
                                    + "captured table has no primary key or replica identity index", s.id(), s.slot());
                        }
                    }
                    return null;
                }
                if (s.snapshotMode() != SnapshotMode.INITIAL_ONLY && record.snapshotId() != null
                        && SnapshotStore.exists(s, admin, record.snapshotId())) {
                    log.info("source '{}': resuming snapshot {} of slot '{}' after its last acknowledged chunk",
                            s.id(), record.snapshotId(), s.slot());
                    return null;
                }
                log.warn("source '{}': the snapshot {} of slot '{}' was started but never delivered completely; "
                        + "dropping the slot (nothing was streamed from it yet) and taking a new snapshot",
                        s.id(), record.snapshotId() == null ? "(not yet named)" : record.snapshotId(), s.slot());
                Slots.drop(s, admin);
            } else if (!s.createSlot()) {
                return null; // the session reports the missing slot
            }
            captured = captured(s, admin);
            if (s.snapshotMode() != SnapshotMode.INITIAL_ONLY && keyed(s, admin, captured)) {
                watermarked(s, admin, captured);
                return null;
            }
            // Recorded before the slot exists: a crash between the two then leaves a record without a slot,
            // which simply means "snapshot again", never a slot that looks foreign.
            SnapshotRecords.upsert(s, admin, null, false);
        } catch (SQLException e) {
            throw SqlStates.classify(s, "cannot prepare the snapshot", e);
        }
        Connection replication = null;
        Connection reader = null;
        try {
            replication = Connections.replication(s);
            ReplicationSlotInfo info = replication.unwrap(PGConnection.class).getReplicationAPI()
                    .createReplicationSlot().logical()
                    .withSlotName(s.slot())
                    .withOutputPlugin("pgoutput")
                    .make();
            Lsn point = new Lsn(info.getConsistentPoint().asLong());
            String snapshotId = s.slot() + "@" + point;
            reader = Connections.textValues(s);
            try (Statement st = reader.createStatement()) {
                st.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
                st.execute("SET TRANSACTION SNAPSHOT '" + info.getSnapshotName().replace("'", "''") + "'");
            }
            try (Connection admin = Connections.textValues(s)) {
                SnapshotRecords.upsert(s, admin, snapshotId, false);
            }
            log.info("source '{}': created slot '{}' at {}; snapshot {} of {} table(s): {}", s.id(), s.slot(), point,
                    snapshotId, captured.size(), captured);
            return new InitialSnapshot(s, replication, reader, List.copyOf(captured), point, snapshotId);
        } catch (SQLException | RuntimeException e) {
            Connections.closeQuietly(reader);
            Connections.closeQuietly(replication);
            if (e instanceof SQLException sql) {
                throw SqlStates.classify(s, "cannot start the snapshot of slot '" + s.slot() + "'", sql);
            }
            throw (RuntimeException) e;
        }
    }

    private static List<TableId> captured(SourceSettings s, Connection admin) throws SQLException {
        List<TableId> captured = new ArrayList<>();
        for (TableId t : ServerChecks.publishedTables(s, admin)) {
            if (s.tableFilter().test(t)) {
                captured.add(t);
            }
        }
        return captured;
    }

    /** Whether every table has a key a watermark snapshot can use. */
    private static boolean keyed(SourceSettings s, Connection admin, List<TableId> tables) throws SQLException {
        TypeMapper types = new TypeMapper(new TypeCatalog(() -> Connections.textValues(s)));
        for (TableId t : tables) {
            if (TableScan.describe(admin, s.publication(), t, types, TableScan.KeyChoice.IDENTITY).key.length == 0) {
                log.info("source '{}': table {} has no primary key or replica identity index; the initial snapshot "
                        + "is taken from an exported snapshot (redone from the start if interrupted)", s.id(), t);
                return false;
            }
        }
        return true;
    }

    /** Creates the slot and stores a request for every captured table, named {@code slot@C}. */
    private static void watermarked(SourceSettings s, Connection admin, List<TableId> captured) throws SQLException {
        // Recorded before the slot exists: a crash before the request is stored leaves a record without a
        // request, which means "drop the slot and snapshot again".
        SnapshotRecords.upsert(s, admin, null, false);
        Lsn point;
        try (PreparedStatement ps = admin.prepareStatement(
                "SELECT lsn::text FROM pg_create_logical_replication_slot(?, 'pgoutput')")) {
            ps.setString(1, s.slot());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                point = Lsn.parse(rs.getString(1));
            }
        }
        String snapshotId = s.slot() + "@" + point;
        SnapshotRecords.upsert(s, admin, snapshotId, captured.isEmpty());
        SnapshotStore.insert(s, admin, snapshotId, captured, null);
        log.info("source '{}': created slot '{}' at {}; snapshot {} of {} table(s) runs while streaming: {}", s.id(),
                s.slot(), point, snapshotId, captured.size(), captured);
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
            throw SqlStates.classify(settings, "snapshot " + snapshotId + " failed while reading "
                    + (current == null ? "" : current.table), e);
        }
    }

    /** Whether the final commit was handed out and {@code acknowledged} covers it. */
    public boolean delivered(long acknowledged) {
        return commitEmitted && Long.compareUnsigned(acknowledged, consistentPoint.value()) >= 0;
    }

    /** Records the snapshot as completed; call once {@link #delivered} is true. */
    public void markCompleted() {
        try (Connection admin = Connections.textValues(settings)) {
            SnapshotRecords.upsert(settings, admin, snapshotId, true);
        } catch (SQLException e) {
            throw SqlStates.classify(settings, "cannot record snapshot " + snapshotId + " as completed", e);
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
        Connections.closeQuietly(reader);
        Connections.closeQuietly(replication);
    }

    /** Reads one table, a chunk at a time, in primary-key order (ctid order without one). */
    private final class TableReader {
        final TableId table;
        final TableScan scan;
        final long started = System.nanoTime();
        String @Nullable [] lastKey;
        long rows;
        boolean done;

        TableReader(TableId table) throws SQLException {
            this.table = table;
            this.scan = TableScan.describe(reader, settings.publication(), table, types,
                    TableScan.KeyChoice.PRIMARY_KEY_OR_CTID);
        }

        void readChunk() throws SQLException {
            int limit = settings.snapshotChunkSize();
            List<TableScan.ScannedRow> read = scan.read(reader, types, lastKey, limit, null);
            for (TableScan.ScannedRow row : read) {
                lastKey = row.keyText();
                int index = emitted++;
                chunk.add(new ChangeEvent(EventIds.forSnapshotRow(snapshotId, table, row.idKey()), settings.id(),
                        Op.READ, table, null, row.row(),
                        new SourcePosition(consistentPoint, consistentPoint, index, 0, snapshotTime),
                        1, List.of(), null, scan.keyColumns, scan.columnTypes, settings.dsn().database()));
            }
            rows += read.size();
            if (read.size() < limit) {
                done = true;
            }
            double secs = Math.max(1e-3, (System.nanoTime() - started) / 1e9);
            log.info("source '{}': snapshot {}: {} rows of ~{} ({} rows/s){}", settings.id(), table, rows,
                    Math.max(scan.estimate, rows), Math.round(rows / secs), done ? ", table done" : "");
        }
    }

}
