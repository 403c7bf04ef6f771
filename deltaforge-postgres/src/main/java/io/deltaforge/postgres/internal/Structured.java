package io.deltaforge.postgres.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Parsers for PostgreSQL's container text forms: arrays ({@code array_out}), composites
 * ({@code record_out}), ranges ({@code range_out}), multiranges and hstore. Each is a single left-to-right
 * scan over the characters; elements are handed to the element type's {@link ValueParser}.
 *
 * <p>Lists and maps returned are unmodifiable; maps keep PostgreSQL's order.
 */
final class Structured {
    private Structured() {
    }

    // ---- arrays ----------------------------------------------------------------------------------------

    /** Arrays of any dimension as nested lists; NULL elements are null. */
    static ValueParser array(ValueParser element, char delimiter) {
        return text -> {
            Cursor c = new Cursor(text);
            if (c.peek() == '[') {
                // Explicit bounds such as [0:1]= appear when a lower bound is not 1; like to_jsonb, keep the
                // elements and drop the bounds.
                int brace = text.indexOf('{');
                if (brace < 0 || text.charAt(brace - 1) != '=') {
                    throw c.fail("array bounds");
                }
                c.pos = brace;
            }
            List<@Nullable Object> out = arrayLevel(c, element, delimiter);
            c.expectEnd();
            return out;
        };
    }

    private static List<@Nullable Object> arrayLevel(Cursor c, ValueParser element, char delimiter) {
        c.expect('{');
        List<@Nullable Object> out = new ArrayList<>();
        if (c.peek() == '}') {
            c.pos++;
            return Collections.unmodifiableList(out);
        }
        while (true) {
            char ch = c.peek();
            if (ch == '{') {
                out.add(arrayLevel(c, element, delimiter));
            } else if (ch == '"') {
                out.add(element.parse(c.quoted(false)));
            } else {
                int start = c.pos;
                String raw = c.unquoted(delimiter, '}');
                boolean isNull = c.pos - start == 4 && raw.equalsIgnoreCase("NULL");
                out.add(isNull ? null : element.parse(raw));
            }
            char next = c.next();
            if (next == '}') {
                return Collections.unmodifiableList(out);
            }
            if (next != delimiter) {
                throw c.fail("array delimiter");
            }
        }
    }

    // ---- composites ------------------------------------------------------------------------------------

    /** A composite as an object of its fields in order; an empty field is NULL, {@code ""} an empty string. */
    static ValueParser composite(List<String> names, List<ValueParser> fields) {
        return text -> {
            Cursor c = new Cursor(text);
            c.expect('(');
            Map<String, @Nullable Object> out = new LinkedHashMap<>();
            int n = names.size();
            for (int i = 0; i < n; i++) {
                char ch = c.peek();
                if (ch == ',' || ch == ')') {
                    out.put(names.get(i), null);
                } else if (ch == '"') {
                    out.put(names.get(i), fields.get(i).parse(c.quoted(true)));
                } else {
                    out.put(names.get(i), fields.get(i).parse(c.unquoted(',', ')')));
                }
                char next = c.next();
                if (next != (i == n - 1 ? ')' : ',')) {
                    // A field count different from the catalog's: the type changed; keep the text.
                    throw c.fail("composite field separator");
                }
            }
            if (n == 0) {
                c.expect(')');
            }
            c.expectEnd();
            return Collections.unmodifiableMap(out);
        };
    }

    // ---- ranges ----------------------------------------------------------------------------------------

    static ValueParser range(ValueParser bound) {
        return text -> {
            Cursor c = new Cursor(text);
            Map<String, @Nullable Object> out = range(c, bound);
            c.expectEnd();
            return out;
        };
    }

    /** A multirange as the list of its ranges. */
    static ValueParser multirange(ValueParser bound) {
        return text -> {
            Cursor c = new Cursor(text);
            c.expect('{');
            List<Object> out = new ArrayList<>();
            if (c.peek() == '}') {
                c.pos++;
            } else {
                while (true) {
                    out.add(range(c, bound));
                    char next = c.next();
                    if (next == '}') {
                        break;
                    }
                    if (next != ',') {
                        throw c.fail("multirange separator");
                    }
                }
            }
            c.expectEnd();
            return Collections.unmodifiableList(out);
        };
    }

    private static Map<String, @Nullable Object> range(Cursor c, ValueParser bound) {
        Map<String, @Nullable Object> out = new LinkedHashMap<>(8);
        if (c.text.startsWith("empty", c.pos)) {
            c.pos += 5;
            out.put("lower", null);
            out.put("upper", null);
            out.put("lower_inclusive", Boolean.FALSE);
            out.put("upper_inclusive", Boolean.FALSE);
            out.put("empty", Boolean.TRUE);
            return Collections.unmodifiableMap(out);
        }
        char open = c.next();
        if (open != '[' && open != '(') {
            throw c.fail("range start");
        }
        Object lower = c.peek() == ',' ? null : rangeBound(c, bound, ',', ',');
        c.expect(',');
        char ch = c.peek();
        Object upper = ch == ']' || ch == ')' ? null : rangeBound(c, bound, ']', ')');
        char close = c.next();
        if (close != ']' && close != ')') {
            throw c.fail("range end");
        }
        out.put("lower", lower);
        out.put("upper", upper);
        out.put("lower_inclusive", open == '[');
        out.put("upper_inclusive", close == ']');
        out.put("empty", Boolean.FALSE);
        return Collections.unmodifiableMap(out);
    }

    private static Object rangeBound(Cursor c, ValueParser bound, char stop1, char stop2) {
        return bound.parse(c.peek() == '"' ? c.quoted(true) : c.unquoted(stop1, stop2));
    }

    // ---- hstore ----------------------------------------------------------------------------------------

    /** {@code "a"=>"1", "b"=>NULL} as an object of strings (and nulls) in the server's order. */
    static Object hstore(String text) {
        Cursor c = new Cursor(text);
        Map<String, @Nullable Object> out = new LinkedHashMap<>();
        c.skipSpaces();
        while (c.pos < text.length()) {
            if (c.peek() != '"') {
                throw c.fail("hstore key");
            }
            String key = c.quoted(false);
            c.expect('=');
            c.expect('>');
            Object value;
            if (c.peek() == '"') {
                value = c.quoted(false);
            } else if (text.startsWith("NULL", c.pos)) {
                c.pos += 4;
                value = null;
            } else {
                throw c.fail("hstore value");
            }
            out.put(key, value);
            c.skipSpaces();
            if (c.pos < text.length()) {
                c.expect(',');
                c.skipSpaces();
            }
        }
        return Collections.unmodifiableMap(out);
    }

    // ---- scanning --------------------------------------------------------------------------------------

    /** A position in the text with the quoting rules the container output functions share. */
    static final class Cursor {
        final String text;
        int pos;

        Cursor(String text) {
            this.text = text;
        }

        char peek() {
            if (pos >= text.length()) {
                throw fail("more text");
            }
            return text.charAt(pos);
        }

        char next() {
            char ch = peek();
            pos++;
            return ch;
        }

        void expect(char ch) {
            if (next() != ch) {
                pos--;
                throw fail("'" + ch + "'");
            }
        }

        void expectEnd() {
            if (pos != text.length()) {
                throw fail("end of value");
            }
        }

        void skipSpaces() {
            while (pos < text.length() && text.charAt(pos) == ' ') {
                pos++;
            }
        }

        /**
         * A double-quoted string starting at the quote: backslash escapes the next character; with
         * {@code doubledQuotes} (records, ranges) {@code ""} is one quote as well.
         */
        String quoted(boolean doubledQuotes) {
            expect('"');
            // The scan runs on locals and writes pos back once: C1, which the runner uses, reloads and
            // stores fields on every pass of a loop, and this loop runs for every character of an array.
            String t = text;
            int n = t.length();
            int p = pos;
            int start = p;
            StringBuilder b = null;
            while (true) {
                if (p >= n) {
                    pos = p;
                    throw fail("closing quote");
                }
                char ch = t.charAt(p);
                if (ch == '"') {
                    if (doubledQuotes && p + 1 < n && t.charAt(p + 1) == '"') {
                        b = copy(b, start, p);
                        b.append('"');
                        p += 2;
                        continue;
                    }
                    pos = p + 1;
                    return b == null ? t.substring(start, p) : b.toString();
                }
                if (ch == '\\') {
                    b = copy(b, start, p);
                    if (p + 1 >= n) {
                        pos = p;
                        throw fail("escaped character");
                    }
                    b.append(t.charAt(p + 1));
                    p += 2;
                    continue;
                }
                if (b != null) {
                    b.append(ch);
                }
                p++;
            }
        }

        /**
         * Unquoted characters up to (not including) {@code stop1} or {@code stop2}; backslash escapes. Scans
         * on locals for the reason given at {@link #quoted}.
         */
        String unquoted(char stop1, char stop2) {
            String t = text;
            int n = t.length();
            int p = pos;
            int start = p;
            StringBuilder b = null;
            while (p < n) {
                char ch = t.charAt(p);
                if (ch == stop1 || ch == stop2) {
                    break;
                }
                if (ch == '\\') {
                    b = copy(b, start, p);
                    if (p + 1 >= n) {
                        pos = p;
                        throw fail("escaped character");
                    }
                    b.append(t.charAt(p + 1));
                    p += 2;
                    continue;
                }
                if (b != null) {
                    b.append(ch);
                }
                p++;
            }
            pos = p;
            if (p >= n) {
                throw fail("end of element");
            }
            return b == null ? t.substring(start, p) : b.toString();
        }

        /** Starts a builder with what was scanned from {@code start} to {@code end}, on the first escape only. */
        private StringBuilder copy(@Nullable StringBuilder b, int start, int end) {
            return b != null ? b : new StringBuilder(text.length()).append(text, start, end);
        }

        IllegalArgumentException fail(String expected) {
            return new IllegalArgumentException("expected " + expected + " at " + pos + " in: " + text);
        }
    }
}
