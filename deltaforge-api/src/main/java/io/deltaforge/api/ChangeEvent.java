package io.deltaforge.api;

import io.deltaforge.spi.SourceRecord;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One captured change of one row, immutable.
 *
 * <pre>{@code
 * if (event.op() == Op.UPDATE) {
 *     Object newEmail = event.after().get("email");
 * }
 * }</pre>
 *
 * @param id       stable identity of the change, a pure function of its source and position (see
 *                 {@link EventIds}); the same change replayed gets the same id
 * @param sourceId the configured id of the source that captured it
 * @param op       what happened
 * @param table    the table it happened to
 * @param before   the old row as the server sent it (key columns only, unless REPLICA IDENTITY FULL);
 *                 null for inserts and when the server sent none
 * @param after    the new row; null for deletes
 * @param position where the change sits in the log
 */
public record ChangeEvent(String id, String sourceId, Op op, TableId table, @Nullable Row before,
                          @Nullable Row after, SourcePosition position) implements SourceRecord {
    public ChangeEvent {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(sourceId, "sourceId");
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(position, "position");
    }
}
