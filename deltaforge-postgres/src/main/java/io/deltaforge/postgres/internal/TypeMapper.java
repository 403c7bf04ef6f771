package io.deltaforge.postgres.internal;

import io.deltaforge.api.RawJson;
import java.math.BigDecimal;
import java.time.DateTimeException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Maps pgoutput's text form of a column value, by type OID, onto the value types of
 * {@link io.deltaforge.api.Row}:
 *
 * <table>
 *   <caption>PostgreSQL type to Row value</caption>
 *   <tr><td>int2, int4, int8, oid</td><td>Long</td></tr>
 *   <tr><td>float4, float8</td><td>Double; NaN, Infinity, -Infinity as String</td></tr>
 *   <tr><td>numeric</td><td>BigDecimal; NaN, Infinity, -Infinity as String</td></tr>
 *   <tr><td>bool</td><td>Boolean</td></tr>
 *   <tr><td>json, jsonb</td><td>RawJson</td></tr>
 *   <tr><td>timestamptz</td><td>String, RFC 3339 in UTC: {@code 2025-01-15T10:30:00.000Z}; millisecond digits
 *       always, microsecond digits when nonzero</td></tr>
 *   <tr><td>timestamp</td><td>String, ISO 8601 local: {@code 2025-01-15T10:30:00.000}, same fraction rule</td></tr>
 *   <tr><td>date</td><td>String {@code 2025-01-15}</td></tr>
 *   <tr><td>bytea</td><td>String, base64 of the bytes</td></tr>
 *   <tr><td>1-D arrays of the above</td><td>List (elements mapped the same way; NULL elements null)</td></tr>
 *   <tr><td>everything else (text, varchar, uuid, time, interval, multi-dimensional arrays, ...)</td>
 *       <td>String, PostgreSQL's text form</td></tr>
 * </table>
 *
 * <p>{@code infinity}, {@code -infinity} and BC dates/timestamps stay as PostgreSQL wrote them. Text that
 * does not parse as expected (a server with an unusual DateStyle, say) is passed through as a String rather
 * than failing the stream. The replication session sets {@code DateStyle=ISO} and {@code TimeZone=UTC} so
 * that the server writes what this class expects.
 *
 * <p>Stateless and thread-safe.
 */
public final class TypeMapper {
    static final int BOOL = 16;
    static final int BYTEA = 17;
    static final int INT8 = 20;
    static final int INT2 = 21;
    static final int INT4 = 23;
    static final int OID = 26;
    static final int JSON = 114;
    static final int FLOAT4 = 700;
    static final int FLOAT8 = 701;
    static final int DATE = 1082;
    static final int TIMESTAMP = 1114;
    static final int TIMESTAMPTZ = 1184;
    static final int NUMERIC = 1700;
    static final int JSONB = 3802;

    public TypeMapper() {
    }

    /** The Row value of {@code text}, which PostgreSQL wrote for a column of type {@code typeOid}; never null. */
    public Object map(int typeOid, String text) {
        try {
            return switch (typeOid) {
                case INT2, INT4, INT8, OID -> Long.parseLong(text);
                case FLOAT4, FLOAT8 -> isSpecialNumber(text) ? text : (Object) Double.parseDouble(text);
                case NUMERIC -> isSpecialNumber(text) ? text : new BigDecimal(text);
                case BOOL -> bool(text);
                case JSON, JSONB -> new RawJson(text);
                case TIMESTAMPTZ -> timestampTz(text);
                case TIMESTAMP -> timestamp(text);
                case DATE -> text;
                case BYTEA -> bytea(text);
                default -> {
                    int element = elementOf(typeOid);
                    yield element == 0 ? text : array(element, text);
                }
            };
        } catch (RuntimeException e) {
            // Odd server settings must not stop the stream: the text form is still faithful.
            return text;
        }
    }

    private static Object bool(String text) {
        return switch (text) {
            case "t", "true" -> Boolean.TRUE;
            case "f", "false" -> Boolean.FALSE;
            default -> text;
        };
    }

    private static boolean isSpecialNumber(String text) {
        return text.equals("NaN") || text.equals("Infinity") || text.equals("-Infinity");
    }

    /** ISO text such as {@code 2025-01-15 10:30:00.123456+00} to RFC 3339 UTC. */
    static String timestampTz(String text) {
        if (isSpecialTime(text)) {
            return text;
        }
        int space = text.indexOf(' ');
        if (space < 0) {
            space = text.indexOf('T');
        }
        if (space < 0) {
            return text;
        }
        String time = text.substring(space + 1);
        int sign = Math.max(time.lastIndexOf('+'), time.lastIndexOf('-'));
        if (sign < 0) {
            return text;
        }
        LocalDate date = LocalDate.parse(text.substring(0, space));
        LocalTime localTime = LocalTime.parse(time.substring(0, sign));
        ZoneOffset offset = ZoneOffset.of(normalizeOffset(time.substring(sign)));
        OffsetDateTime odt = OffsetDateTime.of(date, localTime, offset).withOffsetSameInstant(ZoneOffset.UTC);
        return formatLocal(odt.toLocalDateTime()) + "Z";
    }

    /** ISO text such as {@code 2025-01-15 10:30:00} to {@code 2025-01-15T10:30:00.000}. */
    static String timestamp(String text) {
        if (isSpecialTime(text)) {
            return text;
        }
        return formatLocal(LocalDateTime.parse(text.replace(' ', 'T')));
    }

    private static boolean isSpecialTime(String text) {
        return text.equals("infinity") || text.equals("-infinity") || text.endsWith(" BC");
    }

    private static String normalizeOffset(String offset) {
        // PostgreSQL writes +00, +05:30 or +05:30:15; ZoneOffset.of wants +HH, +HH:MM or +HH:MM:SS.
        return offset.length() == 2 ? offset.charAt(0) + "0" + offset.charAt(1) : offset;
    }

    private static String formatLocal(LocalDateTime t) {
        if (t.getYear() < 0 || t.getYear() > 9999) {
            throw new DateTimeException("year out of the 4-digit range");
        }
        StringBuilder b = new StringBuilder(26);
        pad(b, t.getYear(), 4).append('-');
        pad(b, t.getMonthValue(), 2).append('-');
        pad(b, t.getDayOfMonth(), 2).append('T');
        pad(b, t.getHour(), 2).append(':');
        pad(b, t.getMinute(), 2).append(':');
        pad(b, t.getSecond(), 2).append('.');
        int micros = t.getNano() / 1000;
        if (micros % 1000 == 0) {
            pad(b, micros / 1000, 3);
        } else {
            pad(b, micros, 6);
        }
        return b.toString();
    }

    private static StringBuilder pad(StringBuilder b, int value, int width) {
        String s = Integer.toString(value);
        for (int i = s.length(); i < width; i++) {
            b.append('0');
        }
        return b.append(s);
    }

    private static String bytea(String text) {
        if (!text.startsWith("\\x")) {
            return text;
        }
        int n = (text.length() - 2) / 2;
        byte[] bytes = new byte[n];
        for (int i = 0; i < n; i++) {
            int hi = Character.digit(text.charAt(2 + 2 * i), 16);
            int lo = Character.digit(text.charAt(3 + 2 * i), 16);
            if (hi < 0 || lo < 0) {
                return text;
            }
            bytes[i] = (byte) (hi << 4 | lo);
        }
        return Base64.getEncoder().encodeToString(bytes);
    }

    // ---- arrays ---------------------------------------------------------------------------------------

    /** The element type of the array types we parse into lists; 0 for any other type. */
    static int elementOf(int arrayOid) {
        return switch (arrayOid) {
            case 1000 -> BOOL;
            case 1001 -> BYTEA;
            case 1005 -> INT2;
            case 1007 -> INT4;
            case 1016 -> INT8;
            case 1028 -> OID;
            case 199 -> JSON;
            case 3807 -> JSONB;
            case 1021 -> FLOAT4;
            case 1022 -> FLOAT8;
            case 1231 -> NUMERIC;
            case 1182 -> DATE;
            case 1115 -> TIMESTAMP;
            case 1185 -> TIMESTAMPTZ;
            case 1009 -> 25;    // text[]
            case 1015 -> 1043;  // varchar[]
            case 1014 -> 1042;  // bpchar[]
            case 1003 -> 19;    // name[]
            case 2951 -> 2950;  // uuid[]
            default -> 0;
        };
    }

    /**
     * A one-dimensional array literal such as {@code {1,2,NULL}} or {@code {"a b","c\"d"}}; anything else
     * (several dimensions, explicit bounds) stays text.
     */
    private Object array(int elementOid, String text) {
        if (text.length() < 2 || text.charAt(0) != '{' || text.charAt(text.length() - 1) != '}'
                || text.startsWith("{{")) {
            return text;
        }
        List<@Nullable Object> out = new ArrayList<>();
        String body = text.substring(1, text.length() - 1);
        if (body.isEmpty()) {
            return Collections.unmodifiableList(out);
        }
        int i = 0;
        int n = body.length();
        while (i <= n) {
            StringBuilder element = new StringBuilder();
            boolean quoted = false;
            if (i < n && body.charAt(i) == '"') {
                quoted = true;
                i++;
                while (i < n && body.charAt(i) != '"') {
                    char c = body.charAt(i++);
                    if (c == '\\' && i < n) {
                        c = body.charAt(i++);
                    }
                    element.append(c);
                }
                if (i >= n) {
                    return text;
                }
                i++;
            } else {
                while (i < n && body.charAt(i) != ',') {
                    char c = body.charAt(i++);
                    if (c == '{' || c == '"') {
                        return text;
                    }
                    if (c == '\\' && i < n) {
                        c = body.charAt(i++);
                    }
                    element.append(c);
                }
            }
            String e = element.toString();
            out.add(!quoted && e.equals("NULL") ? null : map(elementOid, e));
            if (i < n && body.charAt(i) != ',') {
                return text;
            }
            i++;
        }
        return Collections.unmodifiableList(out);
    }
}
