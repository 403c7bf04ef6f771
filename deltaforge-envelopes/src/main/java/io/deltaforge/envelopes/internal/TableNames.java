package io.deltaforge.envelopes.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.TableId;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The per-table strings an envelope writes into every event ({@code source}, {@code subject}), built once
 * per (source, table) and kept as {@link JsonString}s, whose quoted UTF-8 bytes are copied as they are
 * instead of escaping and encoding the text again for each event.
 *
 * <p>Bounded: past {@value #MAX_TABLES} tables (far more than a pipeline captures) new ones are built per
 * event and not kept. Thread-safe.
 */
public final class TableNames {
    static final int MAX_TABLES = 4096;

    /** What is written for one table. */
    public record Names(String sourceId, JsonString source, JsonString subject) {
    }

    private final ConcurrentHashMap<TableId, Names> byTable = new ConcurrentHashMap<>();

    /** The names of the event's table, as {@link #source} and {@link #subject} give them. */
    public Names of(ChangeEvent event) {
        Names names = byTable.get(event.table());
        // One envelope usually serves one source; another source id for the same table is built afresh.
        if (names != null && names.sourceId().equals(event.sourceId())) {
            return names;
        }
        names = new Names(event.sourceId(), new JsonString(source(event)), new JsonString(subject(event)));
        if (byTable.size() < MAX_TABLES) {
            byTable.put(event.table(), names);
        }
        return names;
    }

    /** {@code deltaforge/<source id>/<schema>.<table>}, each part a URI path segment. */
    public static String source(ChangeEvent event) {
        TableId t = event.table();
        String table = t.schema().isEmpty() ? PercentEncoding.pathSegment(t.table())
                : PercentEncoding.pathSegment(t.schema()) + '.' + PercentEncoding.pathSegment(t.table());
        return "deltaforge/" + PercentEncoding.pathSegment(event.sourceId()) + '/' + table;
    }

    /** {@code schema.table}; for a logical message, its prefix. */
    public static String subject(ChangeEvent event) {
        return JsonOutput.qualifiedName(event.table());
    }
}
