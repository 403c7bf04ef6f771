package io.deltaforge.postgres.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ConfigException;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.api.internal.condition.Condition;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Incremental (DBLog-style) snapshots inside a replication session: re-reads requested tables in key order
 * while the stream keeps flowing, a window of chunks at a time.
 *
 * <p>One window: write a low watermark L (a transactional logical decoding message in its own transaction),
 * read up to {@code max_parallel_chunks} chunks of {@code chunk_size} rows in one REPEATABLE READ snapshot
 * (keyset after the table's last key), write a high watermark H. The chunk rows wait in a buffer keyed by
 * the row's key. While the stream passes from L to H, every streamed change of a buffered key removes it
 * (the stream has a newer version). At H's commit the remaining rows are handed out as {@link Op#READ} events
 * inside H's transaction, closed by H's {@link TransactionCommit}: the engine acknowledges the slot past H
 * only when they are delivered.
 *
 * <p>Visibility race: a transaction whose commit record precedes L in the WAL may still be invisible to the
 * chunk's snapshot (it is in the snapshot's {@code xip} list: committing, not yet visible). Its change
 * streams before L, so the window would not remove the stale chunk copy. Hence, while a request is open,
 * the keys changed by every streamed transaction are remembered by xid (pruned below the snapshot's xmin),
 * and keys changed by transactions in the chunk snapshot's xip list are removed from the buffer, whether the
 * stream passed them before the chunk was read or passes them before L.
 *
 * <p>Progress (last key, rows) is written to {@link SnapshotStore} only once the engine acknowledged H's
 * end; a restart resumes after the last acknowledged chunk with the same snapshot id (same event ids).
 * Watermarks are named {@code snapshotId:run-window:low|high} with a random run token, so watermarks of an
 * earlier run replayed after a restart match nothing and are ignored.
 *
 * <p>Not thread-safe: every method runs on the source's reader thread (chunk reads may fan out to worker
 * threads inside {@link #tick()}).
 */
final class IncrementalSnapshots implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(IncrementalSnapshots.class);

    private final SourceSettings settings;
    private final AtomicLong acknowledged;
    private final AtomicBoolean reload;
    private final SnapshotMetrics metrics;
    private final TypeMapper types;
    private final String run = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0x1000000));
    /** Open request tables, oldest request first; a table leaves once its last chunk is acknowledged. */
    private final List<TableState> open = new ArrayList<>();
    /** Keys changed per streamed transaction while a request is open (xid to table/key pairs). */
    private final Map<Long, List<Changed>> history = new LinkedHashMap<>();
    private final ArrayDeque<SourceRecord> ready = new ArrayDeque<>();
    private final ArrayDeque<Ack> acks = new ArrayDeque<>();
    private final ArrayDeque<PendingSignal> signals = new ArrayDeque<>();
    private final List<Connection> readers = new ArrayList<>();
    private @Nullable Connection control;
    private @Nullable ExecutorService pool;
    private @Nullable Window window;
    private boolean loaded;
    private long windows;

    IncrementalSnapshots(SourceSettings settings, AtomicLong acknowledged, AtomicBoolean reload,
                         SnapshotMetrics metrics, TypeMapper types) {
        this.settings = settings;
        this.acknowledged = acknowledged;
        this.reload = reload;
        this.metrics = metrics;
        this.types = types;
    }

    /** Receives the decoder's control messages. */
    void control(String prefix, String content, Lsn lsn, long xid) {
        if (PgOutputDecoder.SIGNAL_PREFIX.equals(prefix)) {
            signals.add(new PendingSignal(content, lsn));
            return;
        }
        Window w = window;
        if (w == null) {
            return; // a watermark of an earlier run, or of another source on this database
        }
        if (content.equals(w.name + ":low")) {
            w.lowSeen = true;
        } else if (content.equals(w.name + ":high")) {
            w.highSeen = true;
        }
    }

    /** The next record this class produced (chunk rows, H's commit), or null. */
    @Nullable SourceRecord next() {
        return ready.poll();
    }

    /**
     * Looks at a decoded record before it is handed out: a streamed change removes its key from the open
     * window's buffer; H's commit is replaced by the buffered rows and then the commit (see {@link #next()}).
     */
    @Nullable SourceRecord observe(SourceRecord record) throws SQLException {
        if (record instanceof ChangeEvent e) {
            if (!open.isEmpty()) {
                changed(e);
            }
            return record;
        }
        Window w = window;
        if (record instanceof TransactionCommit commit && w != null && w.highSeen) {
            window = null;
            closeWindow(w, commit);
            return ready.poll();
        }
        return record;
    }

    private void changed(ChangeEvent e) {
        Window w = window;
        long xid = e.position().xid() & 0xFFFFFFFFL;
        for (TableState t : open) {
            if (!t.table.equals(e.table())) {
                continue;
            }
            List<String> keys = new ArrayList<>(2);
            if (e.op() == Op.TRUNCATE) {
                keys.add(Changed.ALL);
            } else {
                String after = t.scan.matchKey(e.after());
                String before = t.scan.matchKey(e.before());
                if (after != null) {
                    keys.add(after);
                }
                if (before != null && !before.equals(after)) {
                    keys.add(before);
                }
            }
            for (String k : keys) {
                history.computeIfAbsent(xid, x -> new ArrayList<>()).add(new Changed(t, k));
                if (w != null && (w.lowSeen || w.xip.contains(xid))) {
                    w.remove(t, k);
                }
            }
        }
    }

    /**
     * Work between stream reads: records acknowledged chunks, takes new requests (API or signal) and opens the
     * next window when none is open. Runs before every stream message, so when there is nothing to do it only
     * reads fields: no atomic write (a set reload flag is read plainly first) and no stream pipeline (C1
     * neither removes its objects nor inlines its VarHandle or lambda layers).
     */
    void tick() throws SQLException {
        if (!acks.isEmpty()) {
            long ack = acknowledged.get();
            while (!acks.isEmpty() && Long.compareUnsigned(acks.peek().endLsn, ack) <= 0) {
                recordProgress(acks.poll());
            }
        }
        while (!signals.isEmpty()) {
            signal(signals.poll());
        }
        if (!loaded || (reload.get() && reload.getAndSet(false))) {
            load();
        }
        if (window == null && !open.isEmpty() && anyLeftToRead()) {
            openWindow();
        }
    }

    private boolean anyLeftToRead() {
        for (TableState t : open) {
            if (!t.readDone) {
                return true;
            }
        }
        return false;
    }

    private void load() throws SQLException {
        loaded = true;
        Connection c = control();
        Set<String> known = new HashSet<>();
        for (TableState t : open) {
            known.add(t.snapshotId + "/" + t.table);
        }
        for (SnapshotStore.Entry entry : SnapshotStore.open(settings, c)) {
            if (known.contains(entry.snapshotId() + "/" + entry.table())) {
                continue;
            }
            TableScan scan = TableScan.describe(c, settings.publication(), entry.table(), types,
                    TableScan.KeyChoice.IDENTITY);
            if (scan.key.length == 0) {
                log.error("source '{}': snapshot {}: table {} has no primary key or replica identity index any more;"
                        + " skipping it", settings.id(), entry.snapshotId(), entry.table());
                SnapshotStore.progress(settings, c, entry.snapshotId(), entry.table(), entry.lastKey(),
                        entry.rowsDone(), true);
                continue;
            }
            ConditionSql condition;
            try {
                condition = render(entry.condition(), scan);
            } catch (IllegalArgumentException e) {
                log.error("source '{}': snapshot {}: the condition '{}' no longer fits table {} ({}); skipping it",
                        settings.id(), entry.snapshotId(), entry.condition(), entry.table(), e.getMessage());
                SnapshotStore.progress(settings, c, entry.snapshotId(), entry.table(), entry.lastKey(),
                        entry.rowsDone(), true);
                continue;
            }
            TableState t = new TableState(entry.snapshotId(), entry.table(), entry.condition(), condition, scan,
                    entry.lastKey(), entry.rowsDone());
            // Read up to the highest key of now: later inserts reach the consumer through the stream, and a
            // table written faster than it is read would otherwise never end. (Taken again on resume: the
            // range only grows, which is safe.)
            t.upTo = scan.maxKey(c, condition);
            if (t.upTo == null) {
                SnapshotStore.progress(settings, c, t.snapshotId, t.table, t.lastKey, t.rowsRead, true);
                log.info("source '{}': snapshot {} of {}: no matching rows", settings.id(), t.snapshotId, t.table);
                completeIfFinished(t.snapshotId);
                continue;
            }
            open.add(t);
            log.info("source '{}': snapshot {} of {}{}: {} (~{} rows)", settings.id(), t.snapshotId, t.table,
                    t.condition == null ? "" : " where " + t.condition,
                    entry.lastKey() == null ? "starting" : "resuming after " + entry.rowsDone() + " rows",
                    scan.estimate);
        }
        metrics.remaining(open.size());
    }

    /**
     * The stored condition (canonical grammar text, null for none) rendered for the table as described now.
     *
     * @throws IllegalArgumentException when it does not parse (e.g. SQL stored by an older version) or names
     *                                  a column the table no longer publishes
     */
    private static @Nullable ConditionSql render(@Nullable String condition, TableScan scan) {
        return condition == null ? null : scan.render(Condition.parse(condition));
    }

    private void signal(PendingSignal pending) {
        Signal signal;
        try {
            signal = Signal.parse(pending.content);
        } catch (IllegalArgumentException e) {
            log.error("source '{}': ignoring the signal at {} ({}): {}; expected e.g. {\"type\":\"snapshot\","
                    + "\"slot\":\"{}\",\"tables\":[\"public.users\"]}", settings.id(), pending.lsn, pending.content,
                    e.getMessage(), settings.slot());
            return;
        }
        if (!signal.isFor(settings.id(), settings.slot())) {
            return;
        }
        if (!"snapshot".equals(signal.type())) {
            log.error("source '{}': ignoring the signal at {}: unknown type '{}'; known: snapshot", settings.id(),
                    pending.lsn, signal.type());
            return;
        }
        // Named by the signal's position: a signal replayed after a restart names the same request.
        String snapshotId = settings.slot() + "@" + pending.lsn;
        try {
            if (signal.tables().isEmpty()) {
                throw new ConfigException("tables", "is empty; name at least one table, e.g. [\"public.users\"]");
            }
            @Nullable Condition condition = SnapshotStore.parse(signal.condition());
            Connection c = control();
            List<TableId> tables = SnapshotStore.validate(settings, c, signal.tables(), condition);
            if (SnapshotStore.insert(settings, c, snapshotId, tables, condition)) {
                log.info("source '{}': snapshot {} of {} requested by signal{}", settings.id(), snapshotId, tables,
                        condition == null ? "" : " where " + condition.canonical());
                reload.set(true);
            }
        } catch (ConfigException e) {
            log.error("source '{}': ignoring the snapshot signal at {}: {}", settings.id(), pending.lsn,
                    e.getMessage());
        } catch (io.deltaforge.api.DeltaforgeException e) {
            // e.g. no privilege to create the progress table: the signal fails, the stream goes on.
            log.error("source '{}': cannot act on the snapshot signal at {}: {}", settings.id(), pending.lsn,
                    e.getMessage());
        } catch (SQLException e) {
            log.error("source '{}': cannot act on the snapshot signal at {}: {}", settings.id(), pending.lsn,
                    e.getMessage());
        }
    }

    private void openWindow() throws SQLException {
        List<TableState> tables = new ArrayList<>();
        for (TableState t : open) {
            if (!t.readDone && tables.size() < settings.snapshotMaxParallelTables()) {
                tables.add(t);
            }
        }
        int chunks = Math.max(1, settings.snapshotMaxParallelChunks());
        Window w = new Window(tables.get(0).snapshotId + ":" + run + "-" + (++windows));
        Connection c = control();
        watermark(c, w.name + ":low");
        try {
            readChunks(w, tables, chunks);
        } catch (SQLException e) {
            // A column dropped or renamed since the table was described. This window is abandoned (its low
            // watermark then matches nothing); the next one reads with the new description.
            boolean reshaped = false;
            if ("42703".equals(e.getSQLState())) {
                for (TableState t : tables) {
                    reshaped |= describeIfReshaped(t);
                    if (t.abandoned && acks.stream().noneMatch(a -> a.table == t)) {
                        recordProgress(new Ack(0, t, t.lastKey, t.rowsRead, true));
                    }
                }
            }
            if (!reshaped) {
                throw e;
            }
            return;
        }
        watermark(c, w.name + ":high");
        window = w;
    }

    private void watermark(Connection c, String content) throws SQLException {
        // Transactional and committed at once in its own short transaction: it reaches the stream with the
        // commit, without waiting for the WAL writer as a non-transactional message would.
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_logical_emit_message(true, ?, ?)")) {
            ps.setString(1, PgOutputDecoder.WATERMARK_PREFIX);
            ps.setString(2, content);
            ps.execute();
        }
    }

    /**
     * Reads the window's chunks in one REPEATABLE READ snapshot: the first connection takes the snapshot (and
     * its xip list) and exports it; chunk boundaries are found in it, and each chunk is read on its own
     * connection that imports it, in parallel.
     */
    private void readChunks(Window w, List<TableState> tables, int chunkCount) throws SQLException {
        int limit = settings.snapshotChunkSize();
        // Distribute the chunks over the tables, round robin.
        List<TableState> plan = new ArrayList<>();
        for (int i = 0; i < chunkCount; i++) {
            plan.add(tables.get(i % tables.size()));
        }
        List<Connection> conns = readers(chunkCount);
        Connection lead = conns.get(0);
        try (Statement st = lead.createStatement()) {
            st.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
            try (ResultSet rs = st.executeQuery("SELECT pg_current_snapshot()::text"
                    + (chunkCount > 1 ? ", pg_export_snapshot()" : ""))) {
                rs.next();
                parseSnapshot(rs.getString(1), w);
                w.exported = chunkCount > 1 ? rs.getString(2) : null;
            }
        }
        try {
            // Chunk starts: a table's second chunk in this window starts where its first ends, found with a key
            // lookup in the same snapshot so that parallel reads never overlap or leave gaps.
            Map<TableState, String @Nullable []> cursor = new HashMap<>();
            List<Chunk> chunks = new ArrayList<>();
            for (TableState t : plan) {
                String[] start = cursor.containsKey(t) ? cursor.get(t) : t.lastKey;
                if (cursor.containsKey(t) && start == null) {
                    continue; // the table ended in an earlier chunk of this window
                }
                Chunk chunk = new Chunk(t, start);
                chunks.add(chunk);
                String[] end = chunks.size() < chunkCount && plan.stream().filter(p -> p == t).count() > 1
                        ? boundary(lead, t, start, limit) : null;
                cursor.put(t, end);
            }
            if (chunks.size() == 1 || w.exported == null) {
                for (Chunk chunk : chunks) {
                    read(lead, chunk, limit);
                }
            } else {
                List<Future<?>> futures = new ArrayList<>();
                for (int i = 0; i < chunks.size(); i++) {
                    Chunk chunk = chunks.get(i);
                    Connection conn = conns.get(i);
                    String exported = w.exported;
                    futures.add(pool().submit(() -> {
                        if (conn != lead) {
                            try (Statement st = conn.createStatement()) {
                                st.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
                                st.execute("SET TRANSACTION SNAPSHOT '" + exported + "'");
                                // The lead holds ACCESS SHARE on the table and waits for this read. An ACCESS
                                // EXCLUSIVE request (ALTER TABLE, TRUNCATE, LOCK TABLE) queues behind the lead,
                                // and this read's ACCESS SHARE would queue behind that: a deadlock through this
                                // process, which the server cannot detect. Fail instead: the session restarts,
                                // which ends the lead's transaction, and resumes after the last acknowledged chunk.
                                st.execute("SET LOCAL lock_timeout = '1s'");
                            }
                        }
                        try {
                            read(conn, chunk, limit);
                        } finally {
                            if (conn != lead) {
                                try (Statement st = conn.createStatement()) {
                                    st.execute("COMMIT");
                                }
                            }
                        }
                        return null;
                    }));
                }
                // Every read is waited for, even after a failure: the next window reuses their connections.
                SQLException failure = null;
                for (Future<?> f : futures) {
                    try {
                        f.get();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new SQLException("interrupted while reading a snapshot chunk", e);
                    } catch (java.util.concurrent.ExecutionException e) {
                        if (failure == null) {
                            failure = e.getCause() instanceof SQLException sql ? sql
                                    : new SQLException("reading a snapshot chunk failed: " + e.getCause(), e.getCause());
                        }
                    }
                }
                if (failure != null) {
                    throw failure;
                }
            }
            w.chunks.addAll(chunks);
        } finally {
            try (Statement st = lead.createStatement()) {
                st.execute("COMMIT");
            }
        }
        // Keys changed by transactions the chunk snapshot could not see, streamed before it was read.
        for (Map.Entry<Long, List<Changed>> entry : history.entrySet()) {
            if (w.xip.contains(entry.getKey())) {
                for (Changed changed : entry.getValue()) {
                    w.remove(changed.table, changed.key);
                }
            }
        }
        // Transactions below xmin were visible to this snapshot and will be to every later one.
        Iterator<Long> it = history.keySet().iterator();
        while (it.hasNext()) {
            long xid = it.next();
            if ((int) (xid - w.xmin) < 0) {
                it.remove();
            }
        }
        // Advance the cursors for the next window; progress is only recorded once delivered.
        for (Chunk chunk : w.chunks) {
            TableState t = chunk.table;
            w.before.putIfAbsent(t, new Cursor(t.lastKey, t.rowsRead));
            if (chunk.lastKey != null) {
                t.lastKey = chunk.lastKey;
            }
            t.rowsRead += chunk.scanned;
            if (chunk.scanned < limit) {
                t.readDone = true;
            }
        }
    }

    /** The key of the last row of the chunk starting after {@code start}; null when that chunk ends the table. */
    private String @Nullable [] boundary(Connection c, TableState t, String @Nullable [] start, int limit)
            throws SQLException {
        return t.scan.boundary(c, start, t.upTo, limit, t.sql);
    }

    private void read(Connection c, Chunk chunk, int limit) throws SQLException {
        List<TableScan.ScannedRow> rows = chunk.table.scan.read(c, types, chunk.start, chunk.table.upTo, limit,
                chunk.table.sql);
        chunk.scanned = rows.size();
        for (TableScan.ScannedRow row : rows) {
            String key = chunk.table.scan.matchKey(row.row());
            chunk.rows.put(key == null ? row.idKey() : key, row);
            chunk.lastKey = row.keyText();
        }
    }

    private static void parseSnapshot(String text, Window w) {
        // xmin:xmax:xip1,xip2 with 64-bit xids; the stream carries 32-bit ones.
        String[] parts = text.split(":", -1);
        w.xmin = Long.parseLong(parts[0]) & 0xFFFFFFFFL;
        if (parts.length > 2 && !parts[2].isEmpty()) {
            for (String xid : parts[2].split(",")) {
                w.xip.add(Long.parseLong(xid.trim()) & 0xFFFFFFFFL);
            }
        }
    }

    private void closeWindow(Window w, TransactionCommit commit) throws SQLException {
        for (TableState t : distinctTables(w)) {
            dropIfReshaped(w, t);
        }
        int index = commit.eventCount();
        int emitted = 0;
        for (Chunk chunk : w.chunks) {
            TableState t = chunk.table;
            for (TableScan.ScannedRow row : chunk.rows.values()) {
                SourcePosition position = new SourcePosition(commit.commitLsn(), commit.commitLsn(), index++,
                        commit.xid(), commit.commitTime());
                ready.add(new ChangeEvent(EventIds.forSnapshotRow(t.snapshotId, t.table, row.idKey()), settings.id(),
                        Op.READ, t.table, null, row.row(), position, 1, List.of(), null, t.scan.keyColumns,
                        t.scan.columnTypes, settings.dsn().database()));
                emitted++;
            }
        }
        ready.add(emitted == 0 ? commit : new TransactionCommit(commit.xid(), commit.commitLsn(), commit.endLsn(),
                commit.commitTime(), commit.eventCount() + emitted));
        for (TableState t : distinctTables(w)) {
            acks.add(new Ack(commit.endLsn().value(), t, t.lastKey, t.rowsRead, t.readDone));
            double secs = Math.max(1e-3, (System.nanoTime() - t.started) / 1e9);
            long rate = Math.round((t.rowsRead - t.rowsAtStart) / secs);
            metrics.table(t.table, t.rowsRead, t.scan.estimate, rate);
            log.info("source '{}': snapshot {} {}: {} rows of ~{} ({} rows/s){}", settings.id(), t.snapshotId, t.table,
                    t.rowsRead, Math.max(t.scan.estimate, t.rowsRead), rate, t.readDone ? ", table read" : "");
        }
    }

    /**
     * A table altered (columns added, dropped or retyped, key changed) after its rows were described: the
     * window's rows of it are dropped and read again in the next window with the new columns. Checked when H
     * arrives, since any change that committed before H is visible to this catalog read, and the rows go out
     * at H: they must not predate a column their consumers will see in the stream from then on.
     */
    private void dropIfReshaped(Window w, TableState t) throws SQLException {
        TableScan old = t.scan;
        if (!describeIfReshaped(t)) {
            return;
        }
        for (Chunk chunk : w.chunks) {
            if (chunk.table == t) {
                chunk.rows.clear();
            }
        }
        if (sameKey(t.scan, old) && !t.abandoned) {
            Cursor before = w.before.get(t);
            t.lastKey = before.lastKey;
            t.rowsRead = before.rowsRead;
            t.readDone = false;
        }
    }

    /**
     * Describes the table again when its catalog entry changed since it was described; true if so. A changed
     * key restarts the table's read from its first key, since the cursor is in terms of the old one.
     */
    private boolean describeIfReshaped(TableState t) throws SQLException {
        Connection c = control();
        if (TableScan.shape(c, t.table).equals(t.scan.shape)) {
            return false;
        }
        TableScan old = t.scan;
        t.scan = TableScan.describe(c, settings.publication(), t.table, types, TableScan.KeyChoice.IDENTITY);
        try {
            t.sql = render(t.condition, t.scan);
        } catch (IllegalArgumentException e) {
            log.error("source '{}': snapshot {}: table {} was altered and the condition '{}' no longer fits it ({}); "
                    + "skipping the rest of it", settings.id(), t.snapshotId, t.table, t.condition, e.getMessage());
            // Never read on without the condition: that would deliver rows it excludes.
            t.abandoned = true;
            t.upTo = null;
            t.readDone = true;
            return true;
        }
        if (sameKey(t.scan, old)) {
            log.info("source '{}': snapshot {}: table {} was altered during its snapshot; reading on with columns {}",
                    settings.id(), t.snapshotId, t.table, t.scan.columns);
            return true;
        }
        t.lastKey = null;
        t.rowsRead = 0;
        t.upTo = t.scan.key.length == 0 ? null : t.scan.maxKey(c, t.sql);
        t.readDone = t.upTo == null;
        if (t.scan.key.length == 0) {
            log.error("source '{}': snapshot {}: table {} has no primary key or replica identity index any more; "
                    + "skipping the rest of it", settings.id(), t.snapshotId, t.table);
        } else {
            log.warn("source '{}': snapshot {}: the key of table {} changed from {} to {}; reading it again from "
                    + "the start (rows delivered so far are delivered again)", settings.id(), t.snapshotId, t.table,
                    old.keyColumns, t.scan.keyColumns);
        }
        return true;
    }

    private static boolean sameKey(TableScan a, TableScan b) {
        return a.keyColumns.equals(b.keyColumns) && Arrays.equals(a.keyTypes, b.keyTypes);
    }

    private static List<TableState> distinctTables(Window w) {
        List<TableState> out = new ArrayList<>();
        for (Chunk c : w.chunks) {
            if (!out.contains(c.table)) {
                out.add(c.table);
            }
        }
        return out;
    }

    private void recordProgress(Ack ack) throws SQLException {
        // An abandoned table ends with its last acknowledged chunk.
        boolean done = ack.done || ack.table.abandoned && acks.stream().noneMatch(a -> a.table == ack.table);
        SnapshotStore.progress(settings, control(), ack.table.snapshotId, ack.table.table, ack.lastKey, ack.rowsDone,
                done);
        if (done) {
            open.remove(ack.table);
            metrics.remaining(open.size());
            log.info("source '{}': snapshot {} of {} delivered: {} rows", settings.id(), ack.table.snapshotId,
                    ack.table.table, ack.rowsDone);
            completeIfFinished(ack.table.snapshotId);
            if (open.isEmpty()) {
                history.clear();
            }
        }
    }

    private void completeIfFinished(String snapshotId) throws SQLException {
        Connection c = control();
        if (SnapshotStore.finished(settings, c, snapshotId)) {
            // An initial snapshot (snapshot.mode initial/always on a new slot) is also recorded as completed.
            SnapshotRecords.completed(settings, c, snapshotId);
            log.info("source '{}': snapshot {} completed", settings.id(), snapshotId);
        }
    }

    private Connection control() throws SQLException {
        Connection c = control;
        if (c == null || c.isClosed()) {
            c = Connections.textValues(settings);
            // Watermarks and progress need no synchronous standby: a lost watermark only means a session
            // that restarts anyway, lost progress only re-reads chunks. Without this, every window would wait
            // for the standby's round trip.
            try (Statement st = c.createStatement()) {
                st.execute("SET synchronous_commit = local");
            }
            // The progress table is created by the first request, not here: a source that never takes
            // snapshots needs no rights on the bookkeeping schema.
            control = c;
        }
        return c;
    }

    private List<Connection> readers(int count) throws SQLException {
        while (readers.size() < count) {
            readers.add(Connections.textValues(settings));
        }
        return readers.subList(0, count);
    }

    private ExecutorService pool() {
        ExecutorService p = pool;
        if (p == null) {
            p = Executors.newFixedThreadPool(settings.snapshotMaxParallelChunks(), r -> {
                Thread t = new Thread(r, "deltaforge-" + settings.id() + "-snapshot");
                t.setDaemon(true);
                return t;
            });
            pool = p;
        }
        return p;
    }

    @Override
    public void close() {
        ExecutorService p = pool;
        if (p != null) {
            p.shutdownNow();
        }
        for (Connection c : readers) {
            Connections.closeQuietly(c);
        }
        readers.clear();
        Connection c = control;
        control = null;
        if (c != null) {
            Connections.closeQuietly(c);
        }
    }

    /** One table of one request, with its in-memory cursor (ahead of the recorded one by unacknowledged chunks). */
    private static final class TableState {
        final String snapshotId;
        final TableId table;
        /** Canonical grammar text, as stored; null for every row. */
        final @Nullable String condition;
        /** The condition rendered for {@link #scan}; replaced with it. */
        @Nullable ConditionSql sql;
        /** Replaced when the table is altered during its snapshot. */
        TableScan scan;
        final long started = System.nanoTime();
        final long rowsAtStart;
        String @Nullable [] lastKey;
        /** The highest key to read; null when the table had no matching row at the start. */
        String @Nullable [] upTo;
        long rowsRead;
        boolean readDone;
        /** Its condition no longer fits the altered table: nothing more is read. */
        boolean abandoned;

        TableState(String snapshotId, TableId table, @Nullable String condition, @Nullable ConditionSql sql,
                   TableScan scan, String @Nullable [] lastKey, long rowsRead) {
            this.snapshotId = snapshotId;
            this.table = table;
            this.condition = condition;
            this.sql = sql;
            this.scan = scan;
            this.lastKey = lastKey;
            this.rowsRead = rowsRead;
            this.rowsAtStart = rowsRead;
        }
    }

    private static final class Window {
        final String name;
        final Set<Long> xip = new HashSet<>();
        final List<Chunk> chunks = new ArrayList<>();
        /** Each table's cursor before this window's chunks advanced it. */
        final Map<TableState, Cursor> before = new HashMap<>();
        long xmin;
        @Nullable String exported;
        boolean lowSeen;
        boolean highSeen;

        Window(String name) {
            this.name = name;
        }

        void remove(TableState table, String key) {
            for (Chunk c : chunks) {
                if (c.table == table) {
                    if (Changed.ALL.equals(key)) {
                        c.rows.clear();
                    } else {
                        c.rows.remove(key);
                    }
                }
            }
        }
    }

    private static final class Chunk {
        final TableState table;
        final String @Nullable [] start;
        /** Rows by match key, in key order. */
        final LinkedHashMap<String, TableScan.ScannedRow> rows = new LinkedHashMap<>();
        String @Nullable [] lastKey;
        int scanned;

        Chunk(TableState table, String @Nullable [] start) {
            this.table = table;
            this.start = start;
        }
    }

    private record Changed(TableState table, String key) {
        /** A truncate: every buffered row of the table is stale. */
        static final String ALL = "\u0000all";
    }

    private record Cursor(String @Nullable [] lastKey, long rowsRead) {
    }

    private record Ack(long endLsn, TableState table, String @Nullable [] lastKey, long rowsDone, boolean done) {
    }

    private record PendingSignal(String content, Lsn lsn) {
    }
}
