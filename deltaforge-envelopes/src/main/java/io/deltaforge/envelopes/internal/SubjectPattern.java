package io.deltaforge.envelopes.internal;

import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A subject made from a row: literal tokens and {@code {name}} placeholders, each standing for a column.
 * A column's value may not break the subject's token structure, so in it {@code .}, {@code *}, {@code >},
 * whitespace and control characters become {@code _}, and null or empty becomes {@code _}, as the NATS
 * sink's own subject template does for table names. Immutable and thread-safe.
 */
public final class SubjectPattern {
    private final String text;
    /** {@code literals.get(i)} comes before the value of {@code columns.get(i)}; one more literal ends it. */
    private final List<String> literals;
    private final List<String> columns;

    private SubjectPattern(String text, List<String> literals, List<String> columns) {
        this.text = text;
        this.literals = List.copyOf(literals);
        this.columns = List.copyOf(columns);
    }

    /**
     * Parses {@code text}; {@code placeholders} maps each allowed placeholder name to its column. Throws
     * {@link IllegalArgumentException} naming the problem and the fix.
     */
    public static SubjectPattern parse(String text, Map<String, String> placeholders) {
        List<String> literals = new ArrayList<>();
        List<String> columns = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        StringBuilder sample = new StringBuilder();
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c != '{') {
                literal.append(c);
                sample.append(c);
                i++;
                continue;
            }
            int close = text.indexOf('}', i);
            String name = close < 0 ? "" : text.substring(i + 1, close);
            String column = placeholders.get(name);
            if (column == null) {
                throw new IllegalArgumentException("subject '" + text + "' has " + (close < 0 ? "a '{' without a '}'"
                        : "the unknown placeholder {" + name + "}") + "; placeholders are {"
                        + String.join("}, {", placeholders.keySet()) + "}");
            }
            literals.add(literal.toString());
            literal.setLength(0);
            columns.add(column);
            sample.append('x');
            i = close + 1;
        }
        literals.add(literal.toString());
        String problem = problemWith(sample.toString());
        if (problem != null) {
            throw new IllegalArgumentException("subject '" + text + "' " + problem);
        }
        return new SubjectPattern(text, literals, columns);
    }

    /** The subject for one row. */
    public String render(Row row) {
        StringBuilder out = new StringBuilder(text.length() + 32);
        for (int i = 0; i < columns.size(); i++) {
            out.append(literals.get(i));
            appendToken(out, row.get(columns.get(i)));
        }
        return out.append(literals.get(columns.size())).toString();
    }

    private static void appendToken(StringBuilder out, @Nullable Object value) {
        String s = value == null ? "" : value instanceof RawJson j ? j.json() : value.toString();
        if (s.isEmpty()) {
            out.append('_');
            return;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            out.append(c == '.' || c == '*' || c == '>' || Character.isWhitespace(c) || Character.isISOControl(c)
                    ? '_' : c);
        }
    }

    private static @Nullable String problemWith(String subject) {
        if (subject.isBlank() || subject.chars().anyMatch(c -> Character.isWhitespace(c) || Character.isISOControl(c))) {
            return "is not a subject; use tokens separated by dots, e.g. outbox.event.{aggregatetype}";
        }
        for (String token : subject.split("\\.", -1)) {
            if (token.isEmpty() || token.equals("*") || token.equals(">")) {
                return "has an empty or wildcard token; a publish subject is literal tokens separated by single dots,"
                        + " e.g. outbox.event.{aggregatetype}";
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return text;
    }
}
