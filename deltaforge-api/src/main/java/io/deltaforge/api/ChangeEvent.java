package io.deltaforge.api;

import io.deltaforge.spi.SourceRecord;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One captured change of one row (or one truncate, or one logical decoding message), immutable.
 *
 * <pre>{@code
 * if (event.op() == Op.UPDATE) {
 *     Object newEmail = event.after().get("email");
 * }
 * }</pre>
 *
 * @param id               stable identity of the change, a pure function of its source and position
 *                         (see {@link EventIds}); the same change replayed gets the same id
 * @param sourceId         the configured id of the source that captured it
 * @param op               what happened
 * @param table            the table it happened to (for {@link Op#MESSAGE}: schema {@code ""} and the
 *                         message prefix as table name)
 * @param before           the old row as the server sent it (key columns only, unless REPLICA IDENTITY
 *                         FULL); null for inserts and when the server sent none
 * @param after            the new row; null for deletes. Columns listed in {@code unchangedColumns}
 *                         are absent from it
 * @param position         where the change sits in the log
 * @param schemaVersion    the version of the table's column list this row was decoded with; it grows
 *                         whenever the source sees the table's definition change (0 when unknown)
 * @param unchangedColumns columns whose value the server did not send because it did not change and
 *                         is stored out of line (PostgreSQL TOAST); never null, usually empty
 * @param detail           what only some ops carry: {@link Detail.Truncate} or {@link Detail.Message};
 *                         null otherwise
 * @param keyColumns       the table's replica-identity key columns in key order (usually the primary
 *                         key); never null, empty when the table has none or the source does not know
 * @param columnTypes      every column of the table in table order with its declared type (also those
 *                         absent from {@code before} or {@code after}); never null, empty when the source
 *                         does not know (messages, hand-made events)
 * @param database         the name of the database the change happened in; never null, empty when the
 *                         source does not know
 * @param origin           where the transaction was replicated from, when it was applied by logical
 *                         replication with a replication origin (PostgreSQL {@code pg_replication_origin});
 *                         null for local transactions and when the source does not know
 */
public record ChangeEvent(String id, String sourceId, Op op, TableId table, @Nullable Row before,
                          @Nullable Row after, SourcePosition position, int schemaVersion,
                          List<String> unchangedColumns, @Nullable Detail detail, List<String> keyColumns,
                          List<ColumnType> columnTypes, String database, @Nullable Origin origin)
        implements SourceRecord {
    public ChangeEvent {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(sourceId, "sourceId");
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(position, "position");
        unchangedColumns = List.copyOf(unchangedColumns);
        keyColumns = List.copyOf(keyColumns);
        columnTypes = List.copyOf(columnTypes);
        Objects.requireNonNull(database, "database");
    }

    /** An event from a local transaction. */
    public ChangeEvent(String id, String sourceId, Op op, TableId table, @Nullable Row before,
                       @Nullable Row after, SourcePosition position, int schemaVersion,
                       List<String> unchangedColumns, @Nullable Detail detail, List<String> keyColumns,
                       List<ColumnType> columnTypes, String database) {
        this(id, sourceId, op, table, before, after, position, schemaVersion, unchangedColumns, detail, keyColumns,
                columnTypes, database, null);
    }

    /** An event without column types or database name. */
    public ChangeEvent(String id, String sourceId, Op op, TableId table, @Nullable Row before,
                       @Nullable Row after, SourcePosition position, int schemaVersion,
                       List<String> unchangedColumns, @Nullable Detail detail, List<String> keyColumns) {
        this(id, sourceId, op, table, before, after, position, schemaVersion, unchangedColumns, detail, keyColumns,
                List.of(), "");
    }

    /** An event without key column information. */
    public ChangeEvent(String id, String sourceId, Op op, TableId table, @Nullable Row before,
                       @Nullable Row after, SourcePosition position, int schemaVersion,
                       List<String> unchangedColumns, @Nullable Detail detail) {
        this(id, sourceId, op, table, before, after, position, schemaVersion, unchangedColumns, detail, List.of(),
                List.of(), "");
    }

    /** A row change without schema version, unchanged columns, detail or key columns. */
    public ChangeEvent(String id, String sourceId, Op op, TableId table, @Nullable Row before,
                       @Nullable Row after, SourcePosition position) {
        this(id, sourceId, op, table, before, after, position, 0, List.of(), null, List.of(), List.of(), "");
    }

    /** The same event with some columns projected away (filters use it); ids and positions are kept. */
    public ChangeEvent withRows(@Nullable Row newBefore, @Nullable Row newAfter) {
        return new ChangeEvent(id, sourceId, op, table, newBefore, newAfter, position, schemaVersion,
                unchangedColumns, detail, keyColumns, columnTypes, database, origin);
    }

    /**
     * The replication origin of a transaction that logical replication applied here.
     *
     * @param name      the origin's name ({@code pg_replication_origin.roname}); never null
     * @param commitLsn the transaction's commit LSN on the origin server
     */
    public record Origin(String name, Lsn commitLsn) {
        public Origin {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(commitLsn, "commitLsn");
        }
    }

    /** What only some ops carry. */
    public sealed interface Detail permits Detail.Truncate, Detail.Message {
        /**
         * Flags of a {@code TRUNCATE}: one event per truncated table.
         *
         * @param cascade         {@code TRUNCATE ... CASCADE}
         * @param restartIdentity {@code TRUNCATE ... RESTART IDENTITY}
         */
        record Truncate(boolean cascade, boolean restartIdentity) implements Detail {
        }

        /**
         * A logical decoding message ({@code pg_logical_emit_message}).
         *
         * @param prefix        the prefix it was emitted with
         * @param content       its bytes; not copied, do not change them
         * @param transactional whether it was emitted inside a transaction (else it is delivered alone)
         */
        record Message(String prefix, byte[] content, boolean transactional) implements Detail {
            public Message {
                Objects.requireNonNull(prefix, "prefix");
                Objects.requireNonNull(content, "content");
            }
        }
    }
}
