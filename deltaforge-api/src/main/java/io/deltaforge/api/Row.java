package io.deltaforge.api;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * An immutable row image: column names in table order, each with a JSON-ready value.
 *
 * <p>Values are one of: {@code null}, {@link Boolean}, {@link Long}, {@link Double},
 * {@link java.math.BigDecimal}, {@link String} (text, and the ISO 8601 / RFC 3339 text of dates and
 * times), {@link RawJson} (json, jsonb), a {@link List} of these (arrays), or an insertion-ordered
 * {@link Map} from field name to one of these (composites, ranges, geometric values). Sources document
 * how each database type maps onto them (PostgreSQL: {@code docs/type-mapping.md}).
 *
 * <p>The column list is shared by every row of the same table version, so a row costs one array.
 *
 * <pre>{@code Row r = Row.of(List.of("id", "name"), 1L, "Alice"); r.get("name"); // "Alice" }</pre>
 */
public final class Row {
    private final List<String> columns;
    private final @Nullable Object[] values;

    private Row(List<String> columns, @Nullable Object[] values) {
        this.columns = columns;
        this.values = values;
    }

    /**
     * A row of the given columns and values, in the same order.
     *
     * @param columns column names; copied unless already an unmodifiable list, never null
     * @param values  one value per column, nulls allowed; the array is copied
     */
    public static Row of(List<String> columns, @Nullable Object... values) {
        Objects.requireNonNull(columns, "columns");
        Objects.requireNonNull(values, "values");
        if (columns.size() != values.length) {
            throw new IllegalArgumentException(
                    "columns has " + columns.size() + " names but values has " + values.length + " entries");
        }
        return new Row(List.copyOf(columns), values.clone());
    }

    /** The column names in table order. */
    public List<String> columns() {
        return columns;
    }

    public int size() {
        return values.length;
    }

    /** The value at a column index, may be null. */
    public @Nullable Object value(int index) {
        return values[index];
    }

    /** The value of a column by name, null when the value is null or the column is absent. */
    public @Nullable Object get(String column) {
        int i = columns.indexOf(column);
        return i < 0 ? null : values[i];
    }

    public boolean hasColumn(String column) {
        return columns.contains(column);
    }

    /** A read-only ordered map view (no copy). */
    public Map<String, @Nullable Object> asMap() {
        return new AbstractMap<>() {
            @Override
            public Set<Entry<String, @Nullable Object>> entrySet() {
                return new AbstractSet<>() {
                    @Override
                    public Iterator<Entry<String, @Nullable Object>> iterator() {
                        return new Iterator<>() {
                            private int i;

                            @Override
                            public boolean hasNext() {
                                return i < values.length;
                            }

                            @Override
                            public Entry<String, @Nullable Object> next() {
                                if (i >= values.length) {
                                    throw new NoSuchElementException();
                                }
                                Entry<String, @Nullable Object> e = new SimpleImmutableEntry<>(columns.get(i), values[i]);
                                i++;
                                return e;
                            }
                        };
                    }

                    @Override
                    public int size() {
                        return values.length;
                    }
                };
            }
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Row other && columns.equals(other.columns) && Arrays.deepEquals(values, other.values);
    }

    @Override
    public int hashCode() {
        return 31 * columns.hashCode() + Arrays.deepHashCode(values);
    }

    @Override
    public String toString() {
        return asMap().toString();
    }
}
