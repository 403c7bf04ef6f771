package io.deltaforge.envelopes.internal;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The column names of the tables a writer sees most, pre-encoded: a source hands every row of a table the
 * same column list, so its names are encoded once rather than escaped again for every row.
 *
 * <p>Lists are recognised by identity and encoded the second time they are seen, since some sources build
 * a list per event and encoding those would be wasted; slots are replaced round robin. Not thread-safe:
 * it belongs to one {@link JsonBytes}.
 */
final class ColumnNames {
    private static final int TABLES = 16;
    private final List<?>[] lists = new List<?>[TABLES];
    private final JsonString[][] names = new JsonString[TABLES][];
    private int nextSlot;
    private @Nullable List<?> seenOnce;

    /** The pre-encoded names of these columns, or null the first time a list is seen. */
    JsonString @Nullable [] of(List<String> columns) {
        for (int i = 0; i < TABLES; i++) {
            if (lists[i] == columns) {
                return names[i];
            }
        }
        if (seenOnce != columns) {
            seenOnce = columns;
            return null;
        }
        JsonString[] encoded = new JsonString[columns.size()];
        for (int i = 0; i < encoded.length; i++) {
            encoded[i] = new JsonString(columns.get(i));
        }
        lists[nextSlot] = columns;
        names[nextSlot] = encoded;
        nextSlot = (nextSlot + 1) % TABLES;
        return encoded;
    }
}
