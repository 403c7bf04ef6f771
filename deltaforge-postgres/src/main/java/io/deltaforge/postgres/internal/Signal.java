package io.deltaforge.postgres.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * An operator's signal, sent as a logical decoding message with prefix {@code deltaforge.signal} and a JSON
 * object as content, e.g.
 * {@code SELECT pg_logical_emit_message(true, 'deltaforge.signal',
 * '{"type":"snapshot","slot":"deltaforge_users","tables":["public.users"],"condition":"id > 100"}')}.
 *
 * <p>{@code source} or {@code slot} (either, optional) names which source it is for; without either, every
 * source reading the database acts on it.
 *
 * @param type      what to do; only {@code snapshot} is known
 * @param source    the source id it is for; null for any
 * @param slot      the slot it is for; null for any
 * @param tables    tables to snapshot
 * @param condition row condition; null for every row
 */
record Signal(String type, @Nullable String source, @Nullable String slot, List<String> tables,
              @Nullable String condition) {

    /** Whether the signal is for the source with this id and slot. */
    boolean isFor(String sourceId, String slotName) {
        return (source == null || source.equals(sourceId)) && (slot == null || slot.equals(slotName));
    }

    /**
     * Parses the content.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    static Signal parse(String json) {
        Object value = new Parser(json).document();
        if (!(value instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException("the content is not a JSON object");
        }
        Object type = map.get("type");
        if (!(type instanceof String t)) {
            throw new IllegalArgumentException("\"type\" is missing; expected \"snapshot\"");
        }
        List<String> tables = new ArrayList<>();
        Object raw = map.get("tables");
        if (raw instanceof List<?> list) {
            for (Object o : list) {
                if (!(o instanceof String s)) {
                    throw new IllegalArgumentException("\"tables\" must hold strings such as \"public.users\"");
                }
                tables.add(s);
            }
        } else if (raw != null) {
            throw new IllegalArgumentException("\"tables\" must be an array such as [\"public.users\"]");
        }
        return new Signal(t, text(map, "source"), text(map, "slot"), List.copyOf(tables), text(map, "condition"));
    }

    private static @Nullable String text(Map<?, ?> map, String key) {
        Object v = map.get(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String s)) {
            throw new IllegalArgumentException("\"" + key + "\" must be a string");
        }
        return s;
    }

    /** Just enough JSON: objects, arrays, strings, numbers, true/false/null. */
    private static final class Parser {
        private final String in;
        private int pos;

        Parser(String in) {
            this.in = in;
        }

        Object document() {
            Object v = value();
            skip();
            if (pos != in.length()) {
                throw error("unexpected text after the JSON value");
            }
            return v == null ? "" : v;
        }

        private @Nullable Object value() {
            skip();
            if (pos >= in.length()) {
                throw error("unexpected end");
            }
            char c = in.charAt(pos);
            switch (c) {
                case '{' -> {
                    pos++;
                    Map<String, @Nullable Object> map = new LinkedHashMap<>();
                    skip();
                    if (peek('}')) {
                        return map;
                    }
                    do {
                        skip();
                        String key = string();
                        skip();
                        expect(':');
                        map.put(key, value());
                        skip();
                    } while (peek(','));
                    expect('}');
                    return map;
                }
                case '[' -> {
                    pos++;
                    List<@Nullable Object> list = new ArrayList<>();
                    skip();
                    if (peek(']')) {
                        return list;
                    }
                    do {
                        list.add(value());
                        skip();
                    } while (peek(','));
                    expect(']');
                    return list;
                }
                case '"' -> {
                    return string();
                }
                default -> {
                    int start = pos;
                    while (pos < in.length() && "{}[],: \t\r\n\"".indexOf(in.charAt(pos)) < 0) {
                        pos++;
                    }
                    String word = in.substring(start, pos);
                    return switch (word) {
                        case "null" -> null;
                        case "true" -> Boolean.TRUE;
                        case "false" -> Boolean.FALSE;
                        default -> {
                            try {
                                yield Double.parseDouble(word);
                            } catch (NumberFormatException e) {
                                throw error("unexpected '" + word + "'");
                            }
                        }
                    };
                }
            }
        }

        private String string() {
            expect('"');
            StringBuilder out = new StringBuilder();
            while (true) {
                if (pos >= in.length()) {
                    throw error("unterminated string");
                }
                char c = in.charAt(pos++);
                if (c == '"') {
                    return out.toString();
                }
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                if (pos >= in.length()) {
                    throw error("unterminated string");
                }
                char e = in.charAt(pos++);
                switch (e) {
                    case 'n' -> out.append('\n');
                    case 't' -> out.append('\t');
                    case 'r' -> out.append('\r');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'u' -> {
                        if (pos + 4 > in.length()) {
                            throw error("bad \\u escape");
                        }
                        out.append((char) Integer.parseInt(in.substring(pos, pos + 4), 16));
                        pos += 4;
                    }
                    default -> out.append(e);
                }
            }
        }

        private boolean peek(char c) {
            if (pos < in.length() && in.charAt(pos) == c) {
                pos++;
                return true;
            }
            return false;
        }

        private void expect(char c) {
            if (!peek(c)) {
                throw error("expected '" + c + "'");
            }
        }

        private void skip() {
            while (pos < in.length() && Character.isWhitespace(in.charAt(pos))) {
                pos++;
            }
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException("invalid JSON at character " + pos + ": " + what);
        }
    }
}
