package io.deltaforge.postgres.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The geometric types as JSON-ready objects. Coordinates are float8: a Double, or the strings
 * {@code NaN}, {@code Infinity}, {@code -Infinity} like float8 columns.
 *
 * <pre>
 * point    (1,2)              {"x":1.0,"y":2.0}
 * line     {1,-1,0}           {"a":1.0,"b":-1.0,"c":0.0}            (ax + by + c = 0)
 * lseg     [(0,0),(1,1)]      {"start":point,"end":point}
 * box      (1,1),(0,0)        {"high":point,"low":point}            (PostgreSQL keeps the upper right first)
 * path     [(0,0),(1,1)]      {"closed":false,"points":[point,...]} ((...) is a closed path)
 * polygon  ((0,0),(1,1),(1,0)) {"points":[point,...]}
 * circle   &lt;(0,0),2&gt;          {"center":point,"radius":2.0}
 * </pre>
 */
final class Geometry {
    private Geometry() {
    }

    static Object point(String text) {
        Structured.Cursor c = new Structured.Cursor(text);
        Map<String, Object> p = point(c);
        c.expectEnd();
        return p;
    }

    static Object line(String text) {
        Structured.Cursor c = new Structured.Cursor(text);
        c.expect('{');
        Object a = number(c, ',');
        c.expect(',');
        Object b = number(c, ',');
        c.expect(',');
        Object cc = number(c, '}');
        c.expect('}');
        c.expectEnd();
        return object("a", a, "b", b, "c", cc);
    }

    static Object lseg(String text) {
        Structured.Cursor c = new Structured.Cursor(text);
        c.expect('[');
        Object start = point(c);
        c.expect(',');
        Object end = point(c);
        c.expect(']');
        c.expectEnd();
        return object("start", start, "end", end);
    }

    static Object box(String text) {
        Structured.Cursor c = new Structured.Cursor(text);
        Object high = point(c);
        c.expect(',');
        Object low = point(c);
        c.expectEnd();
        return object("high", high, "low", low);
    }

    static Object path(String text) {
        Structured.Cursor c = new Structured.Cursor(text);
        char open = c.next();
        if (open != '(' && open != '[') {
            throw c.fail("path start");
        }
        List<Object> points = points(c, open == '(' ? ')' : ']');
        c.expectEnd();
        return object("closed", open == '(', "points", points);
    }

    static Object polygon(String text) {
        Structured.Cursor c = new Structured.Cursor(text);
        c.expect('(');
        List<Object> points = points(c, ')');
        c.expectEnd();
        Map<String, Object> out = new LinkedHashMap<>(2);
        out.put("points", points);
        return Collections.unmodifiableMap(out);
    }

    static Object circle(String text) {
        Structured.Cursor c = new Structured.Cursor(text);
        c.expect('<');
        Object center = point(c);
        c.expect(',');
        Object radius = number(c, '>');
        c.expect('>');
        c.expectEnd();
        return object("center", center, "radius", radius);
    }

    private static List<Object> points(Structured.Cursor c, char close) {
        List<Object> out = new ArrayList<>();
        while (true) {
            out.add(point(c));
            char next = c.next();
            if (next == close) {
                return Collections.unmodifiableList(out);
            }
            if (next != ',') {
                throw c.fail("point separator");
            }
        }
    }

    private static Map<String, Object> point(Structured.Cursor c) {
        c.expect('(');
        Object x = number(c, ',');
        c.expect(',');
        Object y = number(c, ')');
        c.expect(')');
        return object("x", x, "y", y);
    }

    private static Object number(Structured.Cursor c, char stop) {
        int start = c.pos;
        String text = c.text;
        while (c.pos < text.length() && text.charAt(c.pos) != stop && text.charAt(c.pos) != ',') {
            c.pos++;
        }
        return Scalars.floating(text.substring(start, c.pos));
    }

    private static Map<String, Object> object(String k1, Object v1, String k2, Object v2) {
        Map<String, Object> out = new LinkedHashMap<>(4);
        out.put(k1, v1);
        out.put(k2, v2);
        return Collections.unmodifiableMap(out);
    }

    private static Map<String, Object> object(String k1, Object v1, String k2, Object v2, String k3, Object v3) {
        Map<String, Object> out = new LinkedHashMap<>(4);
        out.put(k1, v1);
        out.put(k2, v2);
        out.put(k3, v3);
        return Collections.unmodifiableMap(out);
    }
}
