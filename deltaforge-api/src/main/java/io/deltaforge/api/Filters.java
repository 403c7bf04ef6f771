package io.deltaforge.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Ready-made {@link EventFilter}s: by op, by table name pattern, and column trimming per table. The YAML
 * {@code filters} section maps onto these; in code, chain them with {@link EventFilter#andThen}.
 *
 * <pre>{@code
 * EventFilter f = Filters.ops(Set.of(Op.CREATE, Op.UPDATE, Op.DELETE))
 *         .andThen(Filters.tables(List.of("public.*"), List.of("public.audit_*")))
 *         .andThen(Filters.columns(Map.of("public.users", Filters.ColumnRule.exclude("password_hash"))));
 * Pipeline.builder().filter(f)...
 * }</pre>
 *
 * <p><b>Table patterns</b> are {@code schema.table}, split at the first dot, each part a glob where
 * {@code *} is any run of characters and {@code ?} one character: {@code public.users}, {@code public.*},
 * {@code *.audit_*}. A pattern without a dot names a table in {@code public}, as {@link TableId#parse}
 * does. Names are compared exactly (case-sensitive), as the database reports them. Logical decoding
 * messages ({@link Op#MESSAGE}) have schema {@code ""} and their prefix as table name.
 *
 * <p>Every filter returned is immutable, thread-safe and pure. Arguments are never null; a bad pattern
 * or an empty op set is an {@link IllegalArgumentException} naming it.
 */
public final class Filters {
    private Filters() {
    }

    /**
     * Keeps only events whose op is in {@code ops}.
     *
     * @param ops at least one op; copied
     */
    public static EventFilter ops(Set<Op> ops) {
        Objects.requireNonNull(ops, "ops");
        if (ops.isEmpty()) {
            throw new IllegalArgumentException("ops is empty, which would drop every event; name at least one op");
        }
        Set<Op> keep = Set.copyOf(ops);
        return e -> keep.contains(e.op()) ? e : null;
    }

    /**
     * Keeps events of tables that match an include pattern (every table when {@code include} is empty)
     * and no exclude pattern.
     */
    public static EventFilter tables(List<String> include, List<String> exclude) {
        Objects.requireNonNull(include, "include");
        Objects.requireNonNull(exclude, "exclude");
        List<TablePattern> in = include.stream().map(TablePattern::of).toList();
        List<TablePattern> out = exclude.stream().map(TablePattern::of).toList();
        return e -> {
            TableId t = e.table();
            if (!in.isEmpty() && in.stream().noneMatch(p -> p.matches(t))) {
                return null;
            }
            return out.stream().anyMatch(p -> p.matches(t)) ? null : e;
        };
    }

    /**
     * Trims the before and after rows of events whose table matches a key of {@code rules}; when several
     * patterns match, each rule applies in the map's iteration order. Trimmed columns never reach an
     * envelope. Events of other tables, and events without rows, pass unchanged.
     *
     * @param rules table pattern to rule; copied, keeping iteration order
     */
    public static EventFilter columns(Map<String, ColumnRule> rules) {
        Objects.requireNonNull(rules, "rules");
        Map<TablePattern, ColumnRule> compiled = new LinkedHashMap<>();
        rules.forEach((pattern, rule) -> compiled.put(TablePattern.of(pattern), Objects.requireNonNull(rule, pattern)));
        return e -> {
            Row before = e.before();
            Row after = e.after();
            boolean matched = false;
            for (Map.Entry<TablePattern, ColumnRule> r : compiled.entrySet()) {
                if (r.getKey().matches(e.table())) {
                    matched = true;
                    before = r.getValue().apply(before);
                    after = r.getValue().apply(after);
                }
            }
            return matched ? e.withRows(before, after) : e;
        };
    }

    /** Whether {@code table} matches a table pattern (see the class comment). */
    public static boolean matches(String pattern, TableId table) {
        return TablePattern.of(pattern).matches(Objects.requireNonNull(table, "table"));
    }

    /**
     * Which columns of a table to keep: those matching an {@code include} glob (all when empty), minus
     * those matching an {@code exclude} glob. Column globs use {@code *} and {@code ?}.
     *
     * <pre>{@code ColumnRule.exclude("password_hash", "ssn"); ColumnRule.include("id", "email"); }</pre>
     */
    public record ColumnRule(List<String> include, List<String> exclude) {
        public ColumnRule {
            include = List.copyOf(include);
            exclude = List.copyOf(exclude);
            for (String c : include) {
                checkColumn(c);
            }
            for (String c : exclude) {
                checkColumn(c);
            }
        }

        public static ColumnRule include(String... columns) {
            return new ColumnRule(List.of(columns), List.of());
        }

        public static ColumnRule exclude(String... columns) {
            return new ColumnRule(List.of(), List.of(columns));
        }

        /** The row with only the kept columns, in table order; null stays null. */
        @Nullable Row apply(@Nullable Row row) {
            if (row == null) {
                return null;
            }
            List<String> names = new ArrayList<>(row.size());
            List<@Nullable Object> values = new ArrayList<>(row.size());
            for (int i = 0; i < row.size(); i++) {
                String c = row.columns().get(i);
                if (keeps(c)) {
                    names.add(c);
                    values.add(row.value(i));
                }
            }
            return names.size() == row.size() ? row : Row.of(names, values.toArray());
        }

        private boolean keeps(String column) {
            if (!include.isEmpty() && include.stream().noneMatch(g -> glob(g, column))) {
                return false;
            }
            return exclude.stream().noneMatch(g -> glob(g, column));
        }

        private static void checkColumn(String c) {
            Objects.requireNonNull(c, "column");
            if (c.isBlank()) {
                throw new IllegalArgumentException("a column name is blank; name the column, e.g. password_hash");
            }
        }

        private static boolean glob(String glob, String name) {
            return glob.equals(name) || (isGlob(glob) && compile(glob).matcher(name).matches());
        }
    }

    /** A compiled {@code schema.table} glob. */
    private record TablePattern(String text, Pattern schema, Pattern table) {
        static TablePattern of(String pattern) {
            Objects.requireNonNull(pattern, "pattern");
            String p = pattern.strip();
            if (p.isEmpty()) {
                throw new IllegalArgumentException("a table pattern is blank; write schema.table, e.g. public.users "
                        + "or public.*");
            }
            int dot = p.indexOf('.');
            String schema = dot < 0 ? "public" : p.substring(0, dot);
            String table = dot < 0 ? p : p.substring(dot + 1);
            if (table.isEmpty()) {
                throw new IllegalArgumentException("table pattern '" + pattern + "' has no table part; write "
                        + "schema.table, e.g. " + schema + ".*");
            }
            return new TablePattern(pattern, compile(schema), compile(table));
        }

        boolean matches(TableId t) {
            return schema.matcher(t.schema()).matches() && table.matcher(t.table()).matches();
        }
    }

    private static boolean isGlob(String s) {
        return s.indexOf('*') >= 0 || s.indexOf('?') >= 0;
    }

    private static Pattern compile(String glob) {
        StringBuilder re = new StringBuilder(glob.length() + 8);
        StringBuilder literal = new StringBuilder();
        for (char c : glob.toCharArray()) {
            if (c == '*' || c == '?') {
                if (literal.length() > 0) {
                    re.append(Pattern.quote(literal.toString()));
                    literal.setLength(0);
                }
                re.append(c == '*' ? ".*" : ".");
            } else {
                literal.append(c);
            }
        }
        if (literal.length() > 0) {
            re.append(Pattern.quote(literal.toString()));
        }
        return Pattern.compile(re.toString(), Pattern.DOTALL);
    }
}
