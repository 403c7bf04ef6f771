package io.deltaforge.postgres.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ColumnType;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Heartbeat;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes pgoutput protocol version 1 messages into change events and transaction boundaries.
 *
 * <p>Choices worth knowing:
 * <ul>
 *   <li>Event ids: {@code EventIds.forChange(sourceId, beginFinalLsn, indexInTx)}. The index counts every
 *       row change, every table of a truncate and every transactional message of the transaction, including
 *       those the {@code tables} filter drops, so an event's id does not depend on the filter. Indexes of
 *       emitted events may therefore have gaps.</li>
 *   <li>Unchanged TOAST values ('u': the server did not send a large value that the update did not
 *       touch) are named in {@link ChangeEvent#unchangedColumns()} and left out of {@code after} (absent,
 *       not null), or, with a placeholder configured, set to that placeholder string.</li>
 *   <li>An old tuple of kind 'K' (replica identity DEFAULT or INDEX) becomes a {@code before} row of the
 *       key columns only; kind 'O' (REPLICA IDENTITY FULL) a row of every column. Exactly what the server
 *       sent, nothing filled in.</li>
 *   <li>Schema version: per table, 1 for the first column list this decoder sees, +1 each time a Relation
 *       message brings a different list of column names, types or type modifiers. It is counted per
 *       replication session (it starts at 1 again after a reconnect), so compare versions only between
 *       events of one session; a change of version always means the columns changed.</li>
 *   <li>Truncate: one {@link Op#TRUNCATE} event per table, with {@link ChangeEvent.Detail.Truncate}.</li>
 *   <li>Logical decoding messages (only sent when the slot option {@code messages} is on): {@link Op#MESSAGE}
 *       with table {@code ("", prefix)} and {@link ChangeEvent.Detail.Message}. A transactional one is an
 *       event of its transaction. A non-transactional one arrives between transactions and becomes its own
 *       one-event "transaction": the event, then a {@link TransactionCommit} whose commit and end LSN are
 *       the message's LSN (the end of its WAL record) and xid 0. Acknowledging that position is as safe as
 *       a heartbeat: a transaction still open at that point commits after it and is decoded again after a
 *       restart. Its id is {@code EventIds.forChange(sourceId, messageLsn, -1)}: index -1 never occurs in a
 *       transaction, so it cannot collide with a transaction whose commit record starts where the message
 *       ends. Its commit time is the decoder's clock (pgoutput sends none).</li>
 *   <li>Messages with prefix {@value #WATERMARK_PREFIX} or {@value #SIGNAL_PREFIX} are the source's control
 *       messages: never events, never counted in {@code indexInTx}; they go to the {@link ControlListener}.</li>
 *   <li>Messages with prefix {@value #HEARTBEAT_PREFIX} are the source's own heartbeats: never events; a
 *       non-transactional one becomes a {@link Heartbeat} at its LSN.</li>
 *   <li>Every row event carries the relation's {@link ColumnType}s and the database name; every event the
 *       end LSN of the last Commit decoded in this session before its transaction
 *       ({@link SourcePosition#previousCommitEnd()}, null before the first; a non-transactional message
 *       counts as a commit at its own LSN), which is what Debezium writes first in {@code source.sequence}.</li>
 *   <li>An Origin message (a transaction applied with a replication origin) becomes
 *       {@link ChangeEvent#origin()} of the transaction's events.</li>
 *   <li>Type messages carry nothing an event needs and are consumed; unknown message types are skipped
 *       with one warning per type.</li>
 * </ul>
 *
 * <p>One message may produce several records (a truncate of several tables, a non-transactional
 * message): {@link #decode} returns the first and {@link #next()} the others, in order. Memory is bounded
 * by one message: nothing of a transaction is buffered.
 *
 * <p>Not thread-safe: one decoder per replication session, used by the reader thread.
 */
public final class PgOutputDecoder {
    /** Prefix of the messages the source's heartbeat writes. */
    public static final String HEARTBEAT_PREFIX = "deltaforge_heartbeat";
    /** Prefix of incremental snapshot watermarks; never events. */
    public static final String WATERMARK_PREFIX = "deltaforge.watermark";
    /** Prefix of operator signals (e.g. a snapshot request); never events. */
    public static final String SIGNAL_PREFIX = "deltaforge.signal";

    /** Receives the source's own control messages (watermarks, signals) as they are decoded. */
    @FunctionalInterface
    public interface ControlListener {
        /**
         * @param prefix        {@link #WATERMARK_PREFIX} or {@link #SIGNAL_PREFIX}
         * @param content       the message content as UTF-8 text
         * @param lsn           the message's LSN
         * @param xid           the enclosing transaction's id; 0 for a non-transactional message
         */
        void control(String prefix, String content, Lsn lsn, long xid);
    }
    private static final Logger log = LoggerFactory.getLogger(PgOutputDecoder.class);
    /** Seconds from the Unix epoch to PostgreSQL's, 2000-01-01T00:00:00Z. */
    private static final long PG_EPOCH_SECONDS = 946_684_800L;
    private static final int TRUNCATE_CASCADE = 1;
    private static final int TRUNCATE_RESTART_IDENTITY = 2;

    private final String sourceId;
    private final String database;
    private final Predicate<TableId> tables;
    private final TypeMapper types;
    private final boolean messages;
    private final @Nullable String toastPlaceholder;
    private final Clock clock;
    private final ControlListener control;
    private final Map<Integer, Relation> relations = new HashMap<>();
    private final Map<TableId, Schema> schemas = new HashMap<>();
    private final Set<Character> unknownSeen = new HashSet<>();
    private final ArrayDeque<SourceRecord> pending = new ArrayDeque<>(4);

    private boolean inTransaction;
    private long xid;
    private Lsn commitLsn = Lsn.ZERO;
    private Instant commitTime = Instant.EPOCH;
    private int nextIndex;
    private int eventCount;
    /** End of the last commit decoded in this session; what the next transaction's events name as previous. */
    private @Nullable Lsn previousCommitEnd;
    private @Nullable Lsn transactionPreviousCommitEnd;
    private ChangeEvent.@Nullable Origin origin;
    /** The message being decoded, for error messages. */
    private Lsn messageLsn = Lsn.ZERO;
    private @Nullable Subset lastSubset;

    /** Every table, no messages, unchanged TOAST columns omitted. */
    public PgOutputDecoder(String sourceId, Set<TableId> tables, TypeMapper types) {
        this(sourceId, setFilter(tables), types, false, null, Clock.systemUTC());
    }

    /**
     * @param sourceId         the source id, part of every event id
     * @param tables           which tables to emit events for
     * @param types            value mapping
     * @param messages         whether logical decoding messages become events
     * @param toastPlaceholder the value put in {@code after} for unchanged TOAST columns; null to omit them
     * @param clock            commit time of non-transactional messages
     */
    public PgOutputDecoder(String sourceId, Predicate<TableId> tables, TypeMapper types, boolean messages,
                           @Nullable String toastPlaceholder, Clock clock) {
        this(sourceId, tables, types, messages, toastPlaceholder, clock, (p, c, l, x) -> { });
    }

    /**
     * As above, with a listener for control messages. The server may send messages even when
     * {@code messages} is false (the source always asks for them, for its watermarks); user messages then
     * neither become events nor take an index, so event ids are as if the server had not sent them.
     */
    public PgOutputDecoder(String sourceId, Predicate<TableId> tables, TypeMapper types, boolean messages,
                           @Nullable String toastPlaceholder, Clock clock, ControlListener control) {
        this(sourceId, "", tables, types, messages, toastPlaceholder, clock, control);
    }

    /** As above, naming the database in every event ({@link ChangeEvent#database()}). */
    public PgOutputDecoder(String sourceId, String database, Predicate<TableId> tables, TypeMapper types,
                           boolean messages, @Nullable String toastPlaceholder, Clock clock, ControlListener control) {
        this.database = database;
        this.control = control;
        this.sourceId = sourceId;
        this.tables = tables;
        this.types = types;
        this.messages = messages;
        this.toastPlaceholder = toastPlaceholder;
        this.clock = clock;
    }

    private static Predicate<TableId> setFilter(Set<TableId> tables) {
        Set<TableId> copy = Set.copyOf(tables);
        return copy.isEmpty() ? t -> true : copy::contains;
    }

    /** Whether a Begin has been decoded and its Commit not yet. */
    public boolean inTransaction() {
        return inTransaction;
    }

    /**
     * Decodes one message.
     *
     * @param message    the pgoutput message, positioned at its type byte
     * @param messageLsn the WAL position the server sent with it (the XLogData start)
     * @return the first record it produces, or null when it produces none (Begin, Relation, filtered rows,
     *     ...); further records come from {@link #next()}
     * @throws DeltaforgeException when the message breaks the protocol
     */
    public @Nullable SourceRecord decode(ByteBuffer message, Lsn messageLsn) {
        if (!pending.isEmpty()) {
            throw new IllegalStateException("drain next() before decoding the next message");
        }
        if (!message.hasRemaining()) {
            throw new DeltaforgeException("source '" + sourceId + "': pgoutput message at LSN " + messageLsn
                    + " is truncated: it is empty; restart the source to resynchronize");
        }
        this.messageLsn = messageLsn;
        char type = (char) message.get();
        try {
            switch (type) {
                case 'B' -> begin(message);
                case 'C' -> commit(message);
                case 'R' -> relation(message);
                case 'I' -> insert(message, messageLsn);
                case 'U' -> update(message, messageLsn);
                case 'D' -> delete(message, messageLsn);
                case 'T' -> truncate(message, messageLsn);
                case 'M' -> message(message, messageLsn);
                case 'Y' -> type(message);
                case 'O' -> origin(message);
                default -> {
                    if (unknownSeen.add(type)) {
                        log.warn("source '{}': skipping pgoutput message type '{}' at LSN {}: not known to this "
                                + "version (logged once per type)", sourceId, type, messageLsn);
                    }
                }
            }
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
            pending.clear();
            throw new DeltaforgeException("source '" + sourceId + "': pgoutput message '" + type + "' at LSN "
                    + messageLsn + " is truncated; is the slot using the pgoutput plugin with proto_version 1?", e);
        }
        return pending.poll();
    }

    /** The next record of the last decoded message, null when it produced no more. */
    public @Nullable SourceRecord next() {
        return pending.poll();
    }

    private void begin(ByteBuffer m) {
        commitLsn = new Lsn(m.getLong());
        commitTime = pgTime(m.getLong());
        xid = Integer.toUnsignedLong(m.getInt());
        transactionPreviousCommitEnd = previousCommitEnd;
        origin = null;
        inTransaction = true;
        nextIndex = 0;
        eventCount = 0;
    }

    private void commit(ByteBuffer m) {
        requireTransaction('C');
        m.get(); // flags, unused
        Lsn commitRecordLsn = new Lsn(m.getLong());
        Lsn endLsn = new Lsn(m.getLong());
        Instant time = pgTime(m.getLong());
        if (!commitRecordLsn.equals(commitLsn)) {
            // Begin's final LSN and Commit's commit LSN are the same record; keep the events' value either way.
            log.debug("source '{}': Begin said commit LSN {}, Commit says {}", sourceId, commitLsn, commitRecordLsn);
        }
        inTransaction = false;
        previousCommitEnd = endLsn;
        pending.add(new TransactionCommit(xid, commitLsn, endLsn, time, eventCount));
    }

    private void relation(ByteBuffer m) {
        int oid = m.getInt();
        String namespace = string(m);
        String name = string(m);
        m.get(); // replica identity setting; the old tuple's kind says what we need
        int count = Short.toUnsignedInt(m.getShort());
        List<String> names = new ArrayList<>(count);
        int[] typeOids = new int[count];
        int[] typeMods = new int[count];
        boolean[] key = new boolean[count];
        for (int i = 0; i < count; i++) {
            key[i] = (m.get() & 1) != 0;
            names.add(string(m));
            typeOids[i] = m.getInt();
            typeMods[i] = m.getInt();
        }
        // pgoutput writes an empty namespace for pg_catalog.
        TableId table = new TableId(namespace.isEmpty() ? "pg_catalog" : namespace, name);
        List<String> columns = List.copyOf(names);
        Schema previous = schemas.get(table);
        Schema schema;
        if (previous == null) {
            schema = new Schema(1, columns, typeOids, typeMods);
        } else if (previous.sameColumns(columns, typeOids, typeMods)) {
            schema = previous;
        } else {
            schema = new Schema(previous.version + 1, columns, typeOids, typeMods);
            log.info("source '{}': columns of {} changed (schema version {} of this session): {}", sourceId, table,
                    schema.version, columns);
        }
        schemas.put(table, schema);
        List<String> keyColumns = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            if (key[i]) {
                keyColumns.add(names.get(i));
            }
        }
        // Looks up user-defined types (enums, domains, composites, extension types) once per table version.
        types.prepare(typeOids);
        TypeMapper.TableColumns catalog = types.tableColumns(oid);
        List<ColumnType> columnTypes = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            columnTypes.add(new ColumnType(names.get(i), types.typeName(typeOids[i]), typeMods[i],
                    types.typeKind(typeOids[i]), !catalog.notNull().contains(names.get(i)), types.labels(typeOids[i]),
                    catalog.defaults().get(names.get(i))));
        }
        relations.put(oid, new Relation(table, columns, typeOids, key, schema.version, List.copyOf(keyColumns),
                List.copyOf(columnTypes)));
    }

    private void insert(ByteBuffer m, Lsn lsn) {
        requireTransaction('I');
        Relation rel = relation(m.getInt());
        expect(m, 'N', "Insert");
        Tuple after = tuple(m, rel, false, toastPlaceholder);
        change(rel, Op.CREATE, null, after, lsn);
    }

    private void update(ByteBuffer m, Lsn lsn) {
        requireTransaction('U');
        Relation rel = relation(m.getInt());
        char kind = (char) m.get();
        Row before = null;
        if (kind == 'K' || kind == 'O') {
            before = tuple(m, rel, kind == 'K', null).row;
            kind = (char) m.get();
        }
        if (kind != 'N') {
            throw protocol("Update", "expected new tuple 'N' but found '" + kind + "'");
        }
        Tuple after = tuple(m, rel, false, toastPlaceholder);
        change(rel, Op.UPDATE, before, after, lsn);
    }

    private void delete(ByteBuffer m, Lsn lsn) {
        requireTransaction('D');
        Relation rel = relation(m.getInt());
        char kind = (char) m.get();
        if (kind != 'K' && kind != 'O') {
            throw protocol("Delete", "expected old tuple 'K' or 'O' but found '" + kind + "'");
        }
        Row before = tuple(m, rel, kind == 'K', null).row;
        change(rel, Op.DELETE, before, null, lsn);
    }

    private void truncate(ByteBuffer m, Lsn lsn) {
        requireTransaction('T');
        int count = length(m, "Truncate", "relation count", Integer.BYTES);
        int options = m.get();
        ChangeEvent.Detail detail = new ChangeEvent.Detail.Truncate((options & TRUNCATE_CASCADE) != 0,
                (options & TRUNCATE_RESTART_IDENTITY) != 0);
        // Read every OID first: an unknown relation must fail the message before anything is queued.
        List<Relation> truncated = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            truncated.add(relation(m.getInt()));
        }
        for (Relation rel : truncated) {
            int index = nextIndex++;
            if (tables.test(rel.table)) {
                emit(index, Op.TRUNCATE, rel.table, null, null, lsn, rel.schemaVersion, List.of(), detail, List.of(),
                        rel.columnTypes);
            }
        }
    }

    private void message(ByteBuffer m, Lsn messageLsn) {
        boolean transactional = (m.get() & 1) != 0;
        Lsn lsn = new Lsn(m.getLong());
        String prefix = string(m);
        byte[] content = new byte[length(m, "Message", "content length", 1)];
        m.get(content);
        if (WATERMARK_PREFIX.equals(prefix) || SIGNAL_PREFIX.equals(prefix)) {
            if (transactional) {
                requireTransaction('M');
            }
            control.control(prefix, new String(content, StandardCharsets.UTF_8), lsn, transactional ? xid : 0);
            return;
        }
        if (transactional) {
            requireTransaction('M');
            if (!messages) {
                return; // as if not sent: the ids of the transaction's other events stay the same
            }
            int index = nextIndex++;
            if (!HEARTBEAT_PREFIX.equals(prefix)) {
                emit(index, Op.MESSAGE, new TableId("", prefix), null, null, lsn, 0, List.of(),
                        new ChangeEvent.Detail.Message(prefix, content, true), List.of(), List.of());
            }
            return;
        }
        if (HEARTBEAT_PREFIX.equals(prefix)) {
            if (!inTransaction) {
                pending.add(new Heartbeat(lsn));
            }
            return;
        }
        if (!messages) {
            return;
        }
        ChangeEvent.Detail detail = new ChangeEvent.Detail.Message(prefix, content, false);
        TableId table = new TableId("", prefix);
        if (inTransaction) {
            // pgoutput (without streaming) sends whole transactions, so this should not happen; if it does,
            // the event travels with the open transaction and is acknowledged with its commit.
            log.debug("source '{}': non-transactional message at {} arrived inside transaction {}", sourceId, lsn, xid);
        }
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        if (!inTransaction) {
            previousCommitEnd = lsn; // it is its own transaction, committed at its LSN
        }
        SourcePosition position = new SourcePosition(lsn, lsn, 0, 0, now, previousCommitEnd);
        pending.add(new ChangeEvent(EventIds.forMessage(sourceId, lsn), sourceId, Op.MESSAGE, table, null, null,
                position, 0, List.of(), detail, List.of(), List.of(), database));
        if (!inTransaction) {
            pending.add(new TransactionCommit(0, lsn, lsn, now, 1));
        }
    }

    private void type(ByteBuffer m) {
        // Names a non-built-in type used by a following Relation; values are mapped by OID, so just consume.
        m.getInt();
        string(m);
        string(m);
    }

    private void origin(ByteBuffer m) {
        // Sent after Begin for a transaction applied with a replication origin: its events carry it.
        Lsn originCommit = new Lsn(m.getLong());
        origin = new ChangeEvent.Origin(string(m), originCommit);
    }

    private void change(Relation rel, Op op, @Nullable Row before, @Nullable Tuple after, Lsn lsn) {
        int index = nextIndex++;
        if (!tables.test(rel.table)) {
            return;
        }
        emit(index, op, rel.table, before, after == null ? null : after.row, lsn, rel.schemaVersion,
                after == null ? List.of() : after.unchanged, null, rel.keyColumns, rel.columnTypes);
    }

    private void emit(int index, Op op, TableId table, @Nullable Row before, @Nullable Row after, Lsn lsn,
                      int schemaVersion, List<String> unchanged, ChangeEvent.@Nullable Detail detail,
                      List<String> keyColumns, List<ColumnType> columnTypes) {
        eventCount++;
        SourcePosition position = new SourcePosition(commitLsn, lsn, index, xid, commitTime,
                transactionPreviousCommitEnd);
        pending.add(new ChangeEvent(EventIds.forChange(sourceId, commitLsn, index), sourceId, op, table, before,
                after, position, schemaVersion, unchanged, detail, keyColumns, columnTypes, database, origin));
    }

    /**
     * Reads TupleData. With {@code keyOnly}, keeps the key columns only (the server sends the others as
     * null). Unchanged TOAST columns are listed, and left out unless a placeholder is given.
     */
    private Tuple tuple(ByteBuffer m, Relation rel, boolean keyOnly, @Nullable String placeholder) {
        int count = Short.toUnsignedInt(m.getShort());
        if (count != rel.columns.size()) {
            throw protocol("TupleData", "has " + count + " columns but relation " + rel.table + " has "
                    + rel.columns.size() + "; relation cache out of date");
        }
        Object[] values = new Object[count];
        boolean[] keep = new boolean[count];
        List<String> unchanged = List.of();
        int kept = 0;
        for (int i = 0; i < count; i++) {
            char kind = (char) m.get();
            switch (kind) {
                case 'n' -> values[i] = null;
                case 'u' -> {
                    if (unchanged.isEmpty()) {
                        unchanged = new ArrayList<>(2);
                    }
                    unchanged.add(rel.columns.get(i));
                    values[i] = placeholder == null ? UNCHANGED : placeholder;
                }
                case 't' -> values[i] = types.map(rel.typeOids[i],
                        utf8(m, length(m, "TupleData", "column value length", 1)));
                case 'b' -> {
                    // Binary is only sent when asked for (proto_version 2+ with binary=true); keep it opaque.
                    int len = length(m, "TupleData", "column value length", 1);
                    m.position(m.position() + len);
                    values[i] = null;
                }
                default -> throw protocol("TupleData", "unknown column kind '" + kind + "'");
            }
            keep[i] = values[i] != UNCHANGED && (!keyOnly || rel.key[i]);
            if (keep[i]) {
                kept++;
            }
        }
        if (kept == count) {
            return new Tuple(Row.of(rel.columns, values), unchanged);
        }
        Object[] subset = new Object[kept];
        int j = 0;
        for (int i = 0; i < count; i++) {
            if (keep[i]) {
                subset[j++] = values[i];
            }
        }
        return new Tuple(Row.of(keptColumns(rel, keyOnly, keep, kept), subset), unchanged);
    }

    /**
     * The names of the kept columns, as one list per table and set of columns rather than a new list per event:
     * the envelopes cache each list's encoded column names by the list itself. A key-only row keeps exactly the
     * key columns (the relation's own list); other subsets (updates that leave TOASTed columns unchanged) reuse
     * the last one when they keep the same columns of the same relation, as a run of such updates does.
     */
    private List<String> keptColumns(Relation rel, boolean keyOnly, boolean[] keep, int kept) {
        if (keyOnly && kept == rel.keyColumns.size()) {
            return rel.keyColumns;
        }
        Subset last = lastSubset;
        if (last != null && last.relation == rel && Arrays.equals(last.keep, keep)) {
            return last.columns;
        }
        List<String> names = new ArrayList<>(kept);
        for (int i = 0; i < keep.length; i++) {
            if (keep[i]) {
                names.add(rel.columns.get(i));
            }
        }
        Subset subset = new Subset(rel, keep, List.copyOf(names));
        lastSubset = subset;
        return subset.columns;
    }

    private Relation relation(int oid) {
        Relation rel = relations.get(oid);
        if (rel == null) {
            throw new DeltaforgeException("source '" + sourceId + "': pgoutput sent a change for relation OID "
                    + oid + " at LSN " + messageLsn + " before describing it; restart the source to resynchronize");
        }
        return rel;
    }

    private void requireTransaction(char type) {
        if (!inTransaction) {
            throw new DeltaforgeException("source '" + sourceId + "': pgoutput message '" + type + "' at LSN "
                    + messageLsn + " arrived outside a transaction; restart the source to resynchronize");
        }
    }

    private void expect(ByteBuffer m, char expected, String message) {
        char c = (char) m.get();
        if (c != expected) {
            throw protocol(message, "expected '" + expected + "' but found '" + c + "'");
        }
    }

    /**
     * Reads a count or length field, refusing one that claims more than the message holds before anything
     * is allocated: a corrupted field may say 2 GB, or be negative.
     */
    private int length(ByteBuffer m, String message, String field, int bytesEach) {
        int n = m.getInt();
        if (n < 0 || (long) n * bytesEach > m.remaining()) {
            throw protocol(message, "truncated or corrupted: " + field + " " + n + " needs more than the "
                    + m.remaining() + " bytes left");
        }
        return n;
    }

    private DeltaforgeException protocol(String message, String detail) {
        return new DeltaforgeException("source '" + sourceId + "': malformed pgoutput " + message + " message at LSN "
                + messageLsn + ": " + detail);
    }

    private static String string(ByteBuffer m) {
        int end = m.position();
        while (m.get(end) != 0) {
            end++;
        }
        byte[] bytes = new byte[end - m.position()];
        m.get(bytes);
        m.get(); // the terminating zero
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * The next {@code length} bytes as UTF-8 text, decoded straight from the buffer's array when it has one
     * (pgjdbc's are slices of one, hence the offset): no copy of every column value before its String.
     */
    private static String utf8(ByteBuffer m, int length) {
        if (!m.hasArray()) {
            byte[] bytes = new byte[length];
            m.get(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
        int at = m.position();
        String text = new String(m.array(), m.arrayOffset() + at, length, StandardCharsets.UTF_8);
        m.position(at + length);
        return text;
    }

    static Instant pgTime(long microsSince2000) {
        long seconds = Math.floorDiv(microsSince2000, 1_000_000L);
        long micros = Math.floorMod(microsSince2000, 1_000_000L);
        return Instant.ofEpochSecond(PG_EPOCH_SECONDS + seconds, micros * 1000L);
    }

    private static final Object UNCHANGED = new Object();

    /** A table version as the last Relation message described it. */
    private record Relation(TableId table, List<String> columns, int[] typeOids, boolean[] key, int schemaVersion,
                            List<String> keyColumns, List<ColumnType> columnTypes) {
    }

    /** The column list a schema version stands for. */
    private record Schema(int version, List<String> columns, int[] typeOids, int[] typeMods) {
        boolean sameColumns(List<String> otherColumns, int[] otherTypes, int[] otherMods) {
            return columns.equals(otherColumns) && Arrays.equals(typeOids, otherTypes)
                    && Arrays.equals(typeMods, otherMods);
        }
    }

    private record Tuple(Row row, List<String> unchanged) {
    }

    /** The columns a row of {@code relation} keeps ({@code keep}, never changed afterwards) and their names. */
    private record Subset(Relation relation, boolean[] keep, List<String> columns) {
    }
}
