package io.deltaforge.postgres.internal;

import io.deltaforge.api.TableId;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One entry of the {@code tables} setting: {@code schema.table}, where either part may use {@code *} for
 * "any characters" ({@code public.*}, {@code sales.order_*}, {@code *.users}). A name without a dot is in
 * schema {@code public}, so {@code *} alone means every table of {@code public}; {@code *.*} means every
 * table. Names are compared exactly (PostgreSQL folds unquoted names to lower case, so write them as
 * {@code \d} shows them).
 *
 * <pre>{@code TablePattern.parse("public.user_*").matches(new TableId("public", "user_sessions")) // true}</pre>
 *
 * @param text   the entry as written (trimmed)
 * @param schema the schema part
 * @param table  the table part
 */
public record TablePattern(String text, String schema, String table) {
    public TablePattern {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(table, "table");
    }

    /**
     * Parses one entry.
     *
     * @throws IllegalArgumentException when it is not {@code schema.table} (the message says so)
     */
    public static TablePattern parse(String text) {
        String t = text.trim();
        int dot = t.indexOf('.');
        if (t.isEmpty() || dot == 0 || dot == t.length() - 1 || (dot >= 0 && t.indexOf('.', dot + 1) >= 0)) {
            throw new IllegalArgumentException("'" + text + "' is not a table name; expected schema.table, "
                    + "e.g. public.users, or a pattern such as public.* or sales.order_*");
        }
        TableId id = TableId.parse(t);
        return new TablePattern(t, id.schema(), id.table());
    }

    /** Whether it contains a {@code *}. */
    public boolean isGlob() {
        return schema.indexOf('*') >= 0 || table.indexOf('*') >= 0;
    }

    /** The table it names; only for entries without {@code *}. */
    public TableId tableId() {
        if (isGlob()) {
            throw new IllegalStateException(text + " is a pattern");
        }
        return new TableId(schema, table);
    }

    public boolean matches(TableId id) {
        return glob(schema, id.schema()) && glob(table, id.table());
    }

    private static boolean glob(String pattern, String name) {
        if (pattern.indexOf('*') < 0) {
            return pattern.equals(name);
        }
        return Pattern.compile(toRegex(pattern), Pattern.DOTALL).matcher(name).matches();
    }

    private static String toRegex(String pattern) {
        StringBuilder regex = new StringBuilder();
        int start = 0;
        for (int i = 0; i < pattern.length(); i++) {
            if (pattern.charAt(i) == '*') {
                if (i > start) {
                    regex.append(Pattern.quote(pattern.substring(start, i)));
                }
                regex.append(".*");
                start = i + 1;
            }
        }
        if (start < pattern.length()) {
            regex.append(Pattern.quote(pattern.substring(start)));
        }
        return regex.toString();
    }

    @Override
    public String toString() {
        return text;
    }
}
