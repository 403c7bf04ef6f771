package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A publish subject with placeholders, {@code users.events.{table}}: {@code {schema}}, {@code {table}},
 * {@code {op}} (the one-letter code c u d r t m) and {@code {tenant}} (the pipeline's tenant).
 *
 * <p>{@code ${...}} is left exactly as written: it is the YAML loader's environment syntax, resolved before
 * the sink sees the text, so the sink never reads {@code ${table}} as a placeholder.
 *
 * <p>A placeholder's value may not break the subject's token structure, so in it {@code .}, {@code *},
 * {@code >}, whitespace and control characters become {@code _}, and an empty value becomes {@code _}
 * (a logical message has no schema). Immutable and thread-safe.
 */
public final class SubjectTemplate {
    public static final Set<String> PLACEHOLDERS = Set.of("schema", "table", "op", "tenant");

    /** Literal text and placeholder names, alternating as parsed; a placeholder part is non-null name. */
    private final List<Part> parts;
    private final String text;
    private final @Nullable String tenant;

    private record Part(String literal, @Nullable String placeholder) {
    }

    private SubjectTemplate(String text, List<Part> parts, @Nullable String tenant) {
        this.text = text;
        this.parts = List.copyOf(parts);
        this.tenant = tenant;
    }

    /**
     * Parses a template; problems go to {@code problems} (unknown or unclosed placeholders, {tenant}
     * without a tenant, a subject that is not a valid publish subject).
     */
    public static SubjectTemplate parse(String text, @Nullable String tenant, List<String> problems) {
        List<Part> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c == '$' && i + 1 < text.length() && text.charAt(i + 1) == '{') {
                int close = text.indexOf('}', i);
                int end = close < 0 ? text.length() : close + 1;
                literal.append(text, i, end);
                i = end;
                continue;
            }
            if (c == '{') {
                int close = text.indexOf('}', i);
                if (close < 0) {
                    problems.add("'" + text + "' has a '{' without a closing '}'; placeholders are {schema}, {table},"
                            + " {op} and {tenant}");
                    break;
                }
                String name = text.substring(i + 1, close);
                if (!PLACEHOLDERS.contains(name)) {
                    problems.add("'" + text + "' has an unknown placeholder {" + name + "}; known: {schema}, {table},"
                            + " {op}, {tenant}");
                } else if (name.equals("tenant") && (tenant == null || tenant.isBlank())) {
                    problems.add("'" + text + "' uses {tenant} but the pipeline has no tenant; set metadata.tenant"
                            + " or remove the placeholder");
                }
                if (literal.length() > 0) {
                    parts.add(new Part(literal.toString(), null));
                    literal.setLength(0);
                }
                parts.add(new Part("", name));
                i = close + 1;
                continue;
            }
            literal.append(c);
            i++;
        }
        if (literal.length() > 0) {
            parts.add(new Part(literal.toString(), null));
        }
        SubjectTemplate t = new SubjectTemplate(text, parts, tenant);
        if (problems.isEmpty()) {
            String why = Subjects.problemWithPublishSubject(t.sample());
            if (!why.isEmpty()) {
                problems.add(why.replace("'" + t.sample() + "'", "'" + text + "'"));
            }
        }
        return t;
    }

    public boolean hasPlaceholders() {
        return parts.stream().anyMatch(p -> p.placeholder() != null);
    }

    /** The template as written. */
    public String text() {
        return text;
    }

    /** The subject for one event. */
    public String render(ChangeEvent event) {
        if (parts.size() == 1 && parts.get(0).placeholder() == null) {
            return parts.get(0).literal();
        }
        StringBuilder out = new StringBuilder(text.length() + 32);
        for (Part p : parts) {
            if (p.placeholder() == null) {
                out.append(p.literal());
            } else {
                appendToken(out, switch (p.placeholder()) {
                    case "schema" -> event.table().schema();
                    case "table" -> event.table().table();
                    case "op" -> event.op().code();
                    default -> tenant == null ? "" : tenant;
                });
            }
        }
        return out.toString();
    }

    /**
     * The subjects this template can produce, as a filter: every token that holds a placeholder becomes
     * {@code *}. {@code users.events.{table}} gives {@code users.events.*}.
     */
    public String wildcard() {
        String[] tokens = sample().split("\\.", -1);
        String[] original = tokensWithMarkers();
        for (int i = 0; i < tokens.length; i++) {
            if (original[i].indexOf('\u0000') >= 0) {
                tokens[i] = "*";
            }
        }
        return String.join(".", tokens);
    }

    /**
     * The default subject of transaction markers, as Debezium names its transaction topic
     * ({@code <topic.prefix>.transaction}): the template's leading tokens without a placeholder, then
     * {@code transaction}. {@code cdc.{schema}.{table}} gives {@code cdc.transaction}.
     */
    public String transactionSubject() {
        StringBuilder out = new StringBuilder();
        for (String token : wildcard().split("\\.", -1)) {
            if (token.equals("*")) {
                break;
            }
            out.append(token).append('.');
        }
        return out.append("transaction").toString();
    }

    private String[] tokensWithMarkers() {
        StringBuilder out = new StringBuilder();
        for (Part p : parts) {
            out.append(p.placeholder() == null ? p.literal() : "\u0000");
        }
        return out.toString().split("\\.", -1);
    }

    /** The template with each placeholder replaced by a harmless token, for syntax checks. */
    private String sample() {
        StringBuilder out = new StringBuilder();
        for (Part p : parts) {
            out.append(p.placeholder() == null ? p.literal() : "x");
        }
        return out.toString();
    }

    private static void appendToken(StringBuilder out, String value) {
        if (value.isEmpty()) {
            out.append('_');
            return;
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            out.append(c == '.' || c == '*' || c == '>' || Character.isWhitespace(c) || Character.isISOControl(c)
                    ? '_' : c);
        }
    }

    @Override
    public String toString() {
        return text;
    }
}
