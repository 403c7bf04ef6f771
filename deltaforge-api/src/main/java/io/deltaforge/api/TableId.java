package io.deltaforge.api;

import java.util.Objects;

/**
 * A table's identity, {@code schema.table}. Names are kept exactly as the database reports them.
 *
 * <pre>{@code TableId users = TableId.parse("public.users"); }</pre>
 */
public record TableId(String schema, String table) {
    public TableId {
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(table, "table");
    }

    /** Parses {@code schema.table}; a name without a dot is taken to be in {@code public}. */
    public static TableId parse(String qualified) {
        Objects.requireNonNull(qualified, "qualified");
        int dot = qualified.indexOf('.');
        return dot < 0 ? new TableId("public", qualified)
                : new TableId(qualified.substring(0, dot), qualified.substring(dot + 1));
    }

    /**
     * As a record's own would answer, written out: the generated ones go through method handles that C1,
     * the runner's compiler on two cores, does not inline, and tables are looked up for every event.
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof TableId other && schema.equals(other.schema) && table.equals(other.table);
    }

    @Override
    public int hashCode() {
        return 31 * schema.hashCode() + table.hashCode();
    }

    @Override
    public String toString() {
        return schema + "." + table;
    }
}
