package io.deltaforge.postgres.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes pgoutput protocol version 1 messages into change events and transaction boundaries.
 *
 * <p>Choices worth knowing:
 * <ul>
 *   <li>Event ids: {@code EventIds.forChange(sourceId, beginFinalLsn, indexInTx)}. The index counts every
 *       row change (insert, update, delete) and every truncate of the transaction, including those of
 *       tables the {@code tables} filter drops, so an event's id does not depend on the filter. Indexes of
 *       emitted events may therefore have gaps.</li>
 *   <li>Unchanged TOAST values ('u': the server did not send a large value that the update did not
 *       touch) are left out of the row: the column is absent rather than null, so a consumer can tell
 *       "unchanged, not sent" from "set to NULL".</li>
 *   <li>An old tuple of kind 'K' (replica identity DEFAULT or INDEX) becomes a {@code before} row of the
 *       key columns only; kind 'O' (REPLICA IDENTITY FULL) a row of every column.</li>
 *   <li>Truncate, logical messages, Type and Origin messages produce nothing yet.</li>
 * </ul>
 *
 * <p>Not thread-safe: one decoder per replication session, used by the reader thread.
 */
public final class PgOutputDecoder {
    private static final Logger log = LoggerFactory.getLogger(PgOutputDecoder.class);
    /** Seconds from the Unix epoch to PostgreSQL's, 2000-01-01T00:00:00Z. */
    private static final long PG_EPOCH_SECONDS = 946_684_800L;

    private final String sourceId;
    private final Set<TableId> tables;
    private final TypeMapper types;
    private final Map<Integer, Relation> relations = new HashMap<>();
    private final Set<Character> unknownSeen = new HashSet<>();

    private boolean inTransaction;
    private long xid;
    private Lsn commitLsn = Lsn.ZERO;
    private Instant commitTime = Instant.EPOCH;
    private int nextIndex;
    private int eventCount;

    /**
     * @param sourceId the source id, part of every event id
     * @param tables   the tables to emit events for; empty means all
     * @param types    value mapping
     */
    public PgOutputDecoder(String sourceId, Set<TableId> tables, TypeMapper types) {
        this.sourceId = sourceId;
        this.tables = Set.copyOf(tables);
        this.types = types;
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
     * @return the record it produces, or null when it produces none (Begin, Relation, filtered rows, ...)
     * @throws DeltaforgeException when the message breaks the protocol
     */
    public @Nullable SourceRecord decode(ByteBuffer message, Lsn messageLsn) {
        char type = (char) message.get();
        try {
            return switch (type) {
                case 'B' -> begin(message);
                case 'C' -> commit(message);
                case 'R' -> relation(message);
                case 'I' -> insert(message, messageLsn);
                case 'U' -> update(message, messageLsn);
                case 'D' -> delete(message, messageLsn);
                case 'T' -> truncate(message);
                case 'Y', 'O', 'M' -> null;
                default -> {
                    if (unknownSeen.add(type)) {
                        log.debug("source '{}': skipping pgoutput message type '{}' (not known to this version)",
                                sourceId, type);
                    }
                    yield null;
                }
            };
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new DeltaforgeException("source '" + sourceId + "': pgoutput message '" + type + "' at LSN "
                    + messageLsn + " is truncated; is the slot using the pgoutput plugin with proto_version 1?", e);
        }
    }

    private @Nullable SourceRecord begin(ByteBuffer m) {
        commitLsn = new Lsn(m.getLong());
        commitTime = pgTime(m.getLong());
        xid = Integer.toUnsignedLong(m.getInt());
        inTransaction = true;
        nextIndex = 0;
        eventCount = 0;
        return null;
    }

    private SourceRecord commit(ByteBuffer m) {
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
        return new TransactionCommit(xid, commitLsn, endLsn, time, eventCount);
    }

    private @Nullable SourceRecord relation(ByteBuffer m) {
        int oid = m.getInt();
        String namespace = string(m);
        String name = string(m);
        m.get(); // replica identity setting
        int count = Short.toUnsignedInt(m.getShort());
        List<String> names = new ArrayList<>(count);
        int[] typeOids = new int[count];
        boolean[] key = new boolean[count];
        for (int i = 0; i < count; i++) {
            key[i] = (m.get() & 1) != 0;
            names.add(string(m));
            typeOids[i] = m.getInt();
            m.getInt(); // type modifier
        }
        // pgoutput writes an empty namespace for pg_catalog.
        TableId table = new TableId(namespace.isEmpty() ? "pg_catalog" : namespace, name);
        relations.put(oid, new Relation(table, List.copyOf(names), typeOids, key));
        return null;
    }

    private @Nullable SourceRecord insert(ByteBuffer m, Lsn lsn) {
        requireTransaction('I');
        Relation rel = relation(m.getInt());
        expect(m, 'N', "Insert");
        Row after = tuple(m, rel, false);
        return change(rel, Op.CREATE, null, after, lsn);
    }

    private @Nullable SourceRecord update(ByteBuffer m, Lsn lsn) {
        requireTransaction('U');
        Relation rel = relation(m.getInt());
        char kind = (char) m.get();
        Row before = null;
        if (kind == 'K' || kind == 'O') {
            before = tuple(m, rel, kind == 'K');
            kind = (char) m.get();
        }
        if (kind != 'N') {
            throw protocol("Update", "expected new tuple 'N' but found '" + kind + "'");
        }
        Row after = tuple(m, rel, false);
        return change(rel, Op.UPDATE, before, after, lsn);
    }

    private @Nullable SourceRecord delete(ByteBuffer m, Lsn lsn) {
        requireTransaction('D');
        Relation rel = relation(m.getInt());
        char kind = (char) m.get();
        if (kind != 'K' && kind != 'O') {
            throw protocol("Delete", "expected old tuple 'K' or 'O' but found '" + kind + "'");
        }
        Row before = tuple(m, rel, kind == 'K');
        return change(rel, Op.DELETE, before, null, lsn);
    }

    private @Nullable SourceRecord truncate(ByteBuffer m) {
        requireTransaction('T');
        // Reserve an index so that emitting truncates later does not change the ids of later changes.
        nextIndex++;
        if (unknownSeen.add('T')) {
            log.debug("source '{}': TRUNCATE is not emitted as an event yet", sourceId);
        }
        return null;
    }

    private @Nullable SourceRecord change(Relation rel, Op op, @Nullable Row before, @Nullable Row after, Lsn lsn) {
        int index = nextIndex++;
        if (!tables.isEmpty() && !tables.contains(rel.table)) {
            return null;
        }
        eventCount++;
        SourcePosition position = new SourcePosition(commitLsn, lsn, index, xid, commitTime);
        return new ChangeEvent(EventIds.forChange(sourceId, commitLsn, index), sourceId, op, rel.table, before,
                after, position);
    }

    /**
     * Reads TupleData. With {@code keyOnly}, keeps the key columns only (the server sends the others as
     * null); unchanged TOAST columns are always left out.
     */
    private Row tuple(ByteBuffer m, Relation rel, boolean keyOnly) {
        int count = Short.toUnsignedInt(m.getShort());
        if (count != rel.columns.size()) {
            throw protocol("TupleData", "has " + count + " columns but relation " + rel.table + " has "
                    + rel.columns.size() + "; relation cache out of date");
        }
        Object[] values = new Object[count];
        boolean[] keep = new boolean[count];
        int kept = 0;
        for (int i = 0; i < count; i++) {
            char kind = (char) m.get();
            switch (kind) {
                case 'n' -> values[i] = null;
                case 'u' -> values[i] = UNCHANGED;
                case 't' -> {
                    byte[] bytes = new byte[m.getInt()];
                    m.get(bytes);
                    values[i] = types.map(rel.typeOids[i], new String(bytes, StandardCharsets.UTF_8));
                }
                case 'b' -> {
                    // Binary is only sent when asked for (proto_version 2+ with binary=true); keep it opaque.
                    int len = m.getInt();
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
            return Row.of(rel.columns, values);
        }
        List<String> names = new ArrayList<>(kept);
        Object[] subset = new Object[kept];
        int j = 0;
        for (int i = 0; i < count; i++) {
            if (keep[i]) {
                names.add(rel.columns.get(i));
                subset[j++] = values[i];
            }
        }
        return Row.of(names, subset);
    }

    private Relation relation(int oid) {
        Relation rel = relations.get(oid);
        if (rel == null) {
            throw new DeltaforgeException("source '" + sourceId + "': pgoutput sent a change for relation OID "
                    + oid + " before describing it; restart the source to resynchronize");
        }
        return rel;
    }

    private void requireTransaction(char type) {
        if (!inTransaction) {
            throw new DeltaforgeException("source '" + sourceId + "': pgoutput message '" + type
                    + "' arrived outside a transaction; restart the source to resynchronize");
        }
    }

    private void expect(ByteBuffer m, char expected, String message) {
        char c = (char) m.get();
        if (c != expected) {
            throw protocol(message, "expected '" + expected + "' but found '" + c + "'");
        }
    }

    private DeltaforgeException protocol(String message, String detail) {
        return new DeltaforgeException("source '" + sourceId + "': malformed pgoutput " + message + " message: "
                + detail);
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

    static Instant pgTime(long microsSince2000) {
        long seconds = Math.floorDiv(microsSince2000, 1_000_000L);
        long micros = Math.floorMod(microsSince2000, 1_000_000L);
        return Instant.ofEpochSecond(PG_EPOCH_SECONDS + seconds, micros * 1000L);
    }

    private static final Object UNCHANGED = new Object();

    /** A table version as the last Relation message described it. */
    private record Relation(TableId table, List<String> columns, int[] typeOids, boolean[] key) {
    }
}
