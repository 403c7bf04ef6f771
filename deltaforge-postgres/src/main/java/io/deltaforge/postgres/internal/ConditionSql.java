package io.deltaforge.postgres.internal;

import io.deltaforge.api.TableId;
import io.deltaforge.api.internal.condition.Condition;
import io.deltaforge.api.internal.condition.Condition.And;
import io.deltaforge.api.internal.condition.Condition.Between;
import io.deltaforge.api.internal.condition.Condition.Column;
import io.deltaforge.api.internal.condition.Condition.Compare;
import io.deltaforge.api.internal.condition.Condition.In;
import io.deltaforge.api.internal.condition.Condition.IsNull;
import io.deltaforge.api.internal.condition.Condition.Literal;
import io.deltaforge.api.internal.condition.Condition.Not;
import io.deltaforge.api.internal.condition.Condition.Or;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * A snapshot condition rendered for one table: SQL with a {@code ?} per literal and the literals' text to bind
 * to them, in order. Column names are quoted identifiers checked against the table's published columns; each
 * literal is bound as text and cast to its column's own type ({@code ?::pg_catalog.int4}), so that the
 * column's input function reads it (a timestamp, a uuid, a numeric) and the comparison uses the column's own
 * operators and indexes. The cast names the type without its modifier: a {@code varchar(3)} or
 * {@code numeric(5,1)} cast would cut or round the literal and match rows that differ.
 *
 * @param sql        the boolean expression, fully parenthesized
 * @param parameters the literals' text, one per {@code ?}
 * @param casts      each parameter's cast target, in the same order
 */
record ConditionSql(String sql, List<String> parameters, List<String> casts) {
    ConditionSql {
        parameters = List.copyOf(parameters);
        casts = List.copyOf(casts);
    }

    /**
     * Renders {@code condition} for {@code table}, whose published {@code columns} have the cast targets
     * {@code castTypes} (see {@link TableScan#castTypes}).
     *
     * @throws IllegalArgumentException naming a column the table does not publish, and the ones it does
     */
    static ConditionSql render(Condition condition, TableId table, List<String> columns, List<String> castTypes) {
        Renderer renderer = new Renderer(table, columns, castTypes, new ArrayList<>(), new ArrayList<>());
        String sql = renderer.render(condition);
        return new ConditionSql(sql, renderer.parameters, renderer.casts);
    }

    /**
     * A query that only converts every literal to its column's type, to bind as the condition is bound: it
     * fails on the first literal the type cannot read; null when there are no literals.
     */
    @Nullable String literalsQuery() {
        return casts.isEmpty() ? null
                : casts.stream().map(t -> "?::" + t).collect(Collectors.joining(", ", "SELECT ", ""));
    }

    /** Binds the parameters from {@code first} on; returns the index after the last. */
    int bind(PreparedStatement ps, int first) throws SQLException {
        int n = first;
        for (String p : parameters) {
            ps.setString(n++, p);
        }
        return n;
    }

    private record Renderer(TableId table, List<String> columns, List<String> castTypes, List<String> parameters,
                            List<String> casts) {
        String render(Condition c) {
            if (c instanceof Or or) {
                return or.parts().stream().map(this::render).collect(Collectors.joining(" OR ", "(", ")"));
            }
            if (c instanceof And and) {
                return and.parts().stream().map(this::render).collect(Collectors.joining(" AND ", "(", ")"));
            }
            if (c instanceof Not not) {
                return "(NOT " + render(not.part()) + ")";
            }
            if (c instanceof Compare cmp) {
                int column = column(cmp.column());
                return "(" + name(column) + " " + cmp.operator().symbol + " " + literal(column, cmp.value()) + ")";
            }
            if (c instanceof In in) {
                int column = column(in.column());
                return "(" + name(column) + (in.negated() ? " NOT IN (" : " IN (") + in.values().stream()
                        .map(v -> literal(column, v)).collect(Collectors.joining(", ")) + "))";
            }
            if (c instanceof Between b) {
                int column = column(b.column());
                return "(" + name(column) + (b.negated() ? " NOT BETWEEN " : " BETWEEN ") + literal(column, b.low())
                        + " AND " + literal(column, b.high()) + ")";
            }
            IsNull n = (IsNull) c;
            return "(" + name(column(n.column())) + (n.negated() ? " IS NOT NULL)" : " IS NULL)");
        }

        private int column(Column column) {
            int index = columns.indexOf(column.name());
            if (index < 0) {
                throw new IllegalArgumentException("at position " + column.position() + ": table " + table
                        + " has no column " + column.text() + (columns.isEmpty() ? "" : " (its columns: "
                        + columns.stream().map(n -> new Column(n, 0).text()).collect(Collectors.joining(", "))
                        + ")") + "; a plain name is read in lower case, quote it (\"Name\") for another case");
            }
            return index;
        }

        private String name(int column) {
            return Sql.quoteIdentifier(columns.get(column));
        }

        private String literal(int column, Literal value) {
            parameters.add(value.value());
            casts.add(castTypes.get(column));
            return "?::" + castTypes.get(column);
        }
    }
}
