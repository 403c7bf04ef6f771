package io.deltaforge.envelopes.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.TableId;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The value of the CloudEvents {@code partitionkey} extension: the changed row's primary key, as text.
 *
 * <p>The key columns are chosen, in order:
 * <ol>
 *   <li>the columns configured for the table ({@code partition_key_columns});
 *   <li>the event's own {@link ChangeEvent#keyColumns()}, when the source reported them;
 *   <li>a column named {@code id}, when the row has one;
 *   <li>for updates and deletes, the columns of {@code before} when it looks like a key-only old row
 *       (REPLICA IDENTITY DEFAULT or INDEX: a delete's old row, or an update's old row with fewer
 *       columns than the new one);
 *   <li>otherwise none, and the extension is left out for that event.
 * </ol>
 * One key column gives the value's text (a string as is, anything else as compact JSON); several give a
 * JSON array of the values in column order, e.g. {@code [7,"eu"]}. Truncates and messages have no key.
 *
 * <p>Immutable and thread-safe.
 */
public final class PartitionKeys {
    private static final String ID = "id";
    private final Map<TableId, List<String>> configured;

    public PartitionKeys(Map<TableId, List<String>> configured) {
        this.configured = Map.copyOf(configured);
    }

    /** The key text of the event's row, or null when no key columns can be told. */
    public @Nullable String keyOf(ChangeEvent event) {
        if (event.op() == Op.TRUNCATE || event.op() == Op.MESSAGE) {
            return null;
        }
        Row row = event.after() != null ? event.after() : event.before();
        if (row == null) {
            return null;
        }
        List<String> columns = configured.get(event.table());
        if (columns != null) {
            Row source = containsAll(row, columns) ? row : event.before();
            return source != null && containsAll(source, columns) ? format(source, columns, event) : null;
        }
        if (!event.keyColumns().isEmpty()) {
            Row source = containsAll(row, event.keyColumns()) ? row : event.before();
            if (source != null && containsAll(source, event.keyColumns())) {
                return format(source, event.keyColumns(), event);
            }
        }
        if (row.hasColumn(ID)) {
            return format(row, List.of(ID), event);
        }
        Row before = event.before();
        if (before != null && before.size() > 0
                && (event.after() == null || before.size() < event.after().size())) {
            return format(before, before.columns(), event);
        }
        return null;
    }

    private static boolean containsAll(Row row, List<String> columns) {
        // The same list: a delete's key-only old row holds the key's own column list (a lookup per event).
        if (row.columns() == columns) {
            return true;
        }
        for (String c : columns) {
            if (!row.hasColumn(c)) {
                return false;
            }
        }
        return true;
    }

    private static String format(Row row, List<String> columns, ChangeEvent event) {
        if (columns.size() == 1) {
            Object v = row.columns() == columns ? row.value(0) : row.get(columns.get(0));
            return v instanceof String s ? s : JsonOutput.valueToJson(v, event, columns.get(0));
        }
        StringBuilder out = new StringBuilder().append('[');
        for (int i = 0; i < columns.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            out.append(JsonOutput.valueToJson(row.get(columns.get(i)), event, columns.get(i)));
        }
        return out.append(']').toString();
    }
}
