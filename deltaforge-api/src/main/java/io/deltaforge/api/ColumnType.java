package io.deltaforge.api;

import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The declared type of one column, as the source's catalog names it. Envelopes that re-encode values the
 * way another tool does (the {@code debezium} envelope) need it: a {@code date} and a {@code text} are both
 * a {@link String} in a {@link Row}.
 *
 * <pre>{@code new ColumnType("price", "numeric", 655366, 'b') // numeric(10,2) in PostgreSQL }</pre>
 *
 * @param name     the column name, as in {@link Row#columns()}
 * @param type     PostgreSQL: {@code pg_type.typname} ({@code int4}, {@code numeric}, {@code timestamptz},
 *                 {@code _int4} for an array of int4, {@code hstore}, an enum's own name); for a domain the
 *                 name of its base type; never null
 * @param modifier the type modifier ({@code atttypmod}): precision and scale of a numeric, fractional digits
 *                 of a time, length of a bit string; -1 when the column has none
 * @param kind     PostgreSQL: {@code pg_type.typtype} of the type, for an array of its element, for a
 *                 domain of its base type: {@code b} base, {@code c} composite, {@code e} enum, {@code r}
 *                 range, {@code m} multirange, {@code p} pseudo; {@code b} when not known
 * @param optional whether the column may hold null (PostgreSQL: not {@code attnotnull}); true when not known
 * @param labels   an enum's labels in their order (for an array of an enum too); empty for other types and
 *                 when not known
 * @param defaultExpression the column's {@code DEFAULT} as the catalog prints it (PostgreSQL:
 *                 {@code pg_get_expr(adbin, adrelid)}, e.g. {@code 'x'::text}, {@code 42}, {@code now()}); null
 *                 when it has none or it is not known
 */
public record ColumnType(String name, String type, int modifier, char kind, boolean optional, List<String> labels,
                         @Nullable String defaultExpression) {
    public ColumnType {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        labels = List.copyOf(labels);
    }

    /** A column without a known {@code DEFAULT}. */
    public ColumnType(String name, String type, int modifier, char kind, boolean optional, List<String> labels) {
        this(name, type, modifier, kind, optional, labels, null);
    }

    /** A column that may hold null, its type no enum. */
    public ColumnType(String name, String type, int modifier, char kind) {
        this(name, type, modifier, kind, true, List.of());
    }
}
