package io.deltaforge.postgres.internal;

import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import org.jspecify.annotations.Nullable;

/**
 * Dates, times and intervals from PostgreSQL's ISO text ({@code DateStyle=ISO}) to ISO 8601 / RFC 3339
 * text. Works on the characters rather than through a formatter: PostgreSQL's range (4713 BC to 294276 AD,
 * {@code 24:00:00}, offsets with seconds) is wider than what java.time formatters accept, and this runs for
 * every value.
 *
 * <p>Every method throws {@link IllegalArgumentException} (or another runtime exception) on text it does
 * not expect; {@link TypeMapper} then keeps the text as it is.
 */
final class Temporal {
    private Temporal() {
    }

    static boolean isInfinity(String text) {
        return text.equals("infinity") || text.equals("-infinity");
    }

    /** {@code 2025-01-15} stays; {@code 0044-03-15 BC} becomes {@code -0043-03-15} (ISO 8601 year numbering). */
    static String date(String text) {
        if (isInfinity(text)) {
            return text;
        }
        boolean bc = text.endsWith(" BC");
        String body = bc ? text.substring(0, text.length() - 3) : text;
        int dash = body.indexOf('-');
        if (dash < 4 || body.length() != dash + 6) {
            throw new IllegalArgumentException("not an ISO date: " + text);
        }
        long year = parseDigits(body, 0, dash);
        StringBuilder b = new StringBuilder(body.length() + 2);
        appendYear(b, bc ? 1 - year : year);
        return b.append(body, dash, body.length()).toString();
    }

    /** {@code 2025-01-15 10:30:00.5} to {@code 2025-01-15T10:30:00.500}. */
    static String timestamp(String text) {
        String plain = plainTimestamp(text, text.length(), "");
        if (plain != null) {
            return plain;
        }
        if (isInfinity(text)) {
            return text;
        }
        boolean bc = text.endsWith(" BC");
        int end = bc ? text.length() - 3 : text.length();
        int space = text.indexOf(' ');
        if (space < 0 || space > end) {
            throw new IllegalArgumentException("not an ISO timestamp: " + text);
        }
        int dash = text.indexOf('-');
        long year = parseDigits(text, 0, dash);
        StringBuilder b = new StringBuilder(32);
        appendYear(b, bc ? 1 - year : year);
        b.append(text, dash, space).append('T');
        appendTime(b, text, space + 1, end);
        return b.toString();
    }

    /**
     * {@code 2025-01-15 10:30:00.123456+00} to {@code 2025-01-15T10:30:00.123456Z}; other offsets (a session
     * without {@code TimeZone=UTC}) are converted to UTC.
     */
    static String timestampTz(String text) {
        if (text.endsWith(UTC_OFFSET)) {
            String plain = plainTimestamp(text, text.length() - UTC_OFFSET.length(), "Z");
            if (plain != null) {
                return plain;
            }
        }
        if (isInfinity(text)) {
            return text;
        }
        boolean bc = text.endsWith(" BC");
        int end = bc ? text.length() - 3 : text.length();
        int space = text.indexOf(' ');
        if (space < 0 || space > end) {
            throw new IllegalArgumentException("not an ISO timestamp: " + text);
        }
        int sign = offsetStart(text, space + 1, end);
        int offsetSeconds = offsetSeconds(text, sign, end);
        int dash = text.indexOf('-');
        long year = parseDigits(text, 0, dash);
        if (bc) {
            year = 1 - year;
        }
        StringBuilder b = new StringBuilder(32);
        if (offsetSeconds == 0) {
            appendYear(b, year);
            b.append(text, dash, space).append('T');
            appendTime(b, text, space + 1, sign);
            return b.append('Z').toString();
        }
        LocalDateTime local = LocalDateTime.of((int) year, (int) parseDigits(text, dash + 1, dash + 3),
                (int) parseDigits(text, dash + 4, dash + 6), (int) parseDigits(text, space + 1, space + 3),
                (int) parseDigits(text, space + 4, space + 6), (int) parseDigits(text, space + 7, space + 9),
                fractionMicros(text, space + 9, sign) * 1000);
        LocalDateTime utc = local.minusSeconds(offsetSeconds);
        appendYear(b, utc.getYear());
        b.append('-');
        pad2(b, utc.getMonthValue()).append('-');
        pad2(b, utc.getDayOfMonth()).append('T');
        pad2(b, utc.getHour()).append(':');
        pad2(b, utc.getMinute()).append(':');
        pad2(b, utc.getSecond());
        appendFraction(b, utc.getNano() / 1000);
        return b.append('Z').toString();
    }

    /** {@code 10:30:00} to {@code 10:30:00.000}; {@code 24:00:00} is kept (PostgreSQL allows it). */
    static String time(String text) {
        StringBuilder b = new StringBuilder(15);
        appendTime(b, text, 0, text.length());
        return b.toString();
    }

    /** {@code 10:30:00+05:30} to {@code 10:30:00.000+05:30}; {@code +00} to {@code +00:00}. */
    static String timeTz(String text) {
        int sign = offsetStart(text, 0, text.length());
        StringBuilder b = new StringBuilder(24);
        appendTime(b, text, 0, sign);
        int offsetSeconds = offsetSeconds(text, sign, text.length());
        int abs = Math.abs(offsetSeconds);
        b.append(text.charAt(sign));
        pad2(b, abs / 3600).append(':');
        pad2(b, abs / 60 % 60);
        if (abs % 60 != 0) {
            // Beyond RFC 3339, but PostgreSQL keeps seconds in offsets; dropping them would change the value.
            b.append(':');
            pad2(b, abs % 60);
        }
        return b.toString();
    }

    /** How a {@code TimeZone=UTC} session ends every timestamptz. */
    private static final String UTC_OFFSET = "+00";
    /** A plain timestamp up to its fraction; '0' stands for any digit. */
    private static final String PLAIN_SHAPE = "0000-00-00 00:00:00";
    private static final int PLAIN_SECONDS_END = PLAIN_SHAPE.length();
    private static final int MAX_FRACTION_DIGITS = 6;

    /**
     * The form nearly every timestamp has, {@code YYYY-MM-DD HH:MM:SS[.f{1,6}]} with a year of four digits,
     * ending at {@code end}: its result, which the general path gives as well (the date as it is, 'T', the
     * time, the fraction by the rule of {@link #appendFraction}, then {@code suffix}), written straight into
     * the bytes of the String: timestamps are in most rows, and under C1 the general path's StringBuilder,
     * number parsing and formatting cost more than this single pass. Null for any other form
     * (BC, a year beyond 9999, infinity, text the general path rejects), which the general path then handles.
     */
    private static @Nullable String plainTimestamp(String text, int end, String suffix) {
        int fractionDigits = end == PLAIN_SECONDS_END ? 0 : end - PLAIN_SECONDS_END - 1;
        if (end != PLAIN_SECONDS_END && (fractionDigits < 1 || fractionDigits > MAX_FRACTION_DIGITS
                || text.charAt(PLAIN_SECONDS_END) != '.')) {
            return null;
        }
        boolean microseconds = false;
        for (int i = PLAIN_SECONDS_END + 1; i < end; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return null;
            }
            // Beyond the third digit, anything but zeros asks for all six (see appendFraction).
            microseconds |= i > PLAIN_SECONDS_END + 3 && c != '0';
        }
        int written = microseconds ? MAX_FRACTION_DIGITS : 3;
        byte[] out = new byte[PLAIN_SECONDS_END + 1 + written + suffix.length()];
        for (int i = 0; i < PLAIN_SECONDS_END; i++) {
            char c = text.charAt(i);
            char shape = PLAIN_SHAPE.charAt(i);
            if (shape == '0' ? c < '0' || c > '9' : c != shape) {
                return null;
            }
            out[i] = (byte) (c == ' ' ? 'T' : c);
        }
        out[PLAIN_SECONDS_END] = '.';
        for (int i = 0; i < written; i++) {
            out[PLAIN_SECONDS_END + 1 + i] = (byte) (i < fractionDigits ? text.charAt(PLAIN_SECONDS_END + 1 + i) : '0');
        }
        for (int i = 0; i < suffix.length(); i++) {
            out[out.length - suffix.length() + i] = (byte) suffix.charAt(i);
        }
        return new String(out, StandardCharsets.ISO_8859_1);
    }

    // ---- intervals -------------------------------------------------------------------------------------

    /**
     * An ISO 8601 duration. The {@code iso_8601} IntervalStyle text ({@code P1Y2M3DT4H5M6.789S}) is already
     * one and is returned as is; the default {@code postgres} style ({@code 1 year 2 mons 3 days 04:05:06.789})
     * is converted to exactly what {@code iso_8601} would print.
     */
    static String interval(String text) {
        if (!text.isEmpty() && text.charAt(0) == 'P') {
            return text;
        }
        long years = 0;
        long months = 0;
        long days = 0;
        long hours = 0;
        long minutes = 0;
        long seconds = 0;
        long micros = 0;
        boolean negativeTime = false;
        int i = 0;
        int n = text.length();
        while (i < n) {
            if (text.charAt(i) == ' ') {
                i++;
                continue;
            }
            int tokenEnd = text.indexOf(' ', i);
            if (tokenEnd < 0) {
                tokenEnd = n;
            }
            if (text.indexOf(':', i) >= 0 && text.indexOf(':', i) < tokenEnd) {
                int p = i;
                if (text.charAt(p) == '-' || text.charAt(p) == '+') {
                    negativeTime = text.charAt(p) == '-';
                    p++;
                }
                int c1 = text.indexOf(':', p);
                int c2 = text.indexOf(':', c1 + 1);
                if (c2 < 0 || c2 > tokenEnd) {
                    throw new IllegalArgumentException("not an interval time: " + text);
                }
                hours = parseDigits(text, p, c1);
                minutes = parseDigits(text, c1 + 1, c2);
                int dot = text.indexOf('.', c2);
                int secEnd = dot < 0 || dot > tokenEnd ? tokenEnd : dot;
                seconds = parseDigits(text, c2 + 1, secEnd);
                micros = fractionMicros(text, secEnd, tokenEnd);
                i = tokenEnd;
                continue;
            }
            long value = Long.parseLong(text.substring(text.charAt(i) == '+' ? i + 1 : i, tokenEnd));
            int unitStart = tokenEnd + 1;
            int unitEnd = text.indexOf(' ', unitStart);
            if (unitEnd < 0) {
                unitEnd = n;
            }
            String unit = text.substring(unitStart, unitEnd);
            switch (unit) {
                case "year", "years" -> years = value;
                case "mon", "mons" -> months = value;
                case "day", "days" -> days = value;
                default -> throw new IllegalArgumentException("unknown interval unit in: " + text);
            }
            i = unitEnd;
        }
        StringBuilder b = new StringBuilder(24).append('P');
        if (years != 0) {
            b.append(years).append('Y');
        }
        if (months != 0) {
            b.append(months).append('M');
        }
        if (days != 0) {
            b.append(days).append('D');
        }
        if (hours != 0 || minutes != 0 || seconds != 0 || micros != 0) {
            b.append('T');
            String minus = negativeTime ? "-" : "";
            if (hours != 0) {
                b.append(minus).append(hours).append('H');
            }
            if (minutes != 0) {
                b.append(minus).append(minutes).append('M');
            }
            if (seconds != 0 || micros != 0) {
                b.append(minus).append(seconds);
                if (micros != 0) {
                    int len = b.length();
                    b.append('.');
                    padTo(b, micros, 6);
                    int last = b.length();
                    while (b.charAt(last - 1) == '0') {
                        last--;
                    }
                    b.setLength(Math.max(last, len + 2));
                }
                b.append('S');
            }
        }
        if (b.length() == 1) {
            return "PT0S";
        }
        return b.toString();
    }

    // ---- pieces ----------------------------------------------------------------------------------------

    /** Index of the sign that starts the offset after a time that begins at {@code from}. */
    private static int offsetStart(String text, int from, int end) {
        for (int i = from + 8; i < end; i++) {
            char c = text.charAt(i);
            if (c == '+' || c == '-') {
                return i;
            }
        }
        throw new IllegalArgumentException("no UTC offset in: " + text);
    }

    /** {@code +05}, {@code -05:30}, {@code +05:30:15} in seconds, signed. */
    private static int offsetSeconds(String text, int sign, int end) {
        int len = end - sign;
        int seconds;
        if (len == 3) {
            seconds = (int) parseDigits(text, sign + 1, sign + 3) * 3600;
        } else if (len == 6 && text.charAt(sign + 3) == ':') {
            seconds = (int) (parseDigits(text, sign + 1, sign + 3) * 3600 + parseDigits(text, sign + 4, sign + 6) * 60);
        } else if (len == 9 && text.charAt(sign + 3) == ':' && text.charAt(sign + 6) == ':') {
            seconds = (int) (parseDigits(text, sign + 1, sign + 3) * 3600 + parseDigits(text, sign + 4, sign + 6) * 60
                    + parseDigits(text, sign + 7, sign + 9));
        } else {
            throw new IllegalArgumentException("not a UTC offset in: " + text);
        }
        return text.charAt(sign) == '-' ? -seconds : seconds;
    }

    /** Appends {@code HH:MM:SS} from {@code text[from, end)} with the fraction rule of {@link #appendFraction}. */
    private static void appendTime(StringBuilder b, String text, int from, int end) {
        if (end - from < 8 || text.charAt(from + 2) != ':' || text.charAt(from + 5) != ':') {
            throw new IllegalArgumentException("not a time: " + text);
        }
        parseDigits(text, from, from + 2);
        parseDigits(text, from + 3, from + 5);
        parseDigits(text, from + 6, from + 8);
        b.append(text, from, from + 8);
        appendFraction(b, fractionMicros(text, from + 8, end));
    }

    /** Milliseconds always, microseconds when they are not zero: {@code .500}, {@code .123456}. */
    private static void appendFraction(StringBuilder b, int micros) {
        b.append('.');
        if (micros % 1000 == 0) {
            padTo(b, micros / 1000, 3);
        } else {
            padTo(b, micros, 6);
        }
    }

    /** {@code .5} at {@code text[from, end)} as microseconds (500000); empty means 0. */
    private static int fractionMicros(String text, int from, int end) {
        if (from == end) {
            return 0;
        }
        if (text.charAt(from) != '.' || end - from > 7 || end - from < 2) {
            throw new IllegalArgumentException("not a fraction of a second in: " + text);
        }
        int micros = (int) parseDigits(text, from + 1, end);
        for (int i = end - from - 1; i < 6; i++) {
            micros *= 10;
        }
        return micros;
    }

    /** ISO 8601 years: four digits at least, a sign below year 1 and above 9999 ({@code -0043}, {@code +10000}). */
    private static void appendYear(StringBuilder b, long year) {
        if (year < 0) {
            b.append('-');
            padTo(b, -year, 4);
        } else {
            if (year > 9999) {
                b.append('+');
            }
            padTo(b, year, 4);
        }
    }

    private static StringBuilder pad2(StringBuilder b, int value) {
        if (value < 10) {
            b.append('0');
        }
        return b.append(value);
    }

    private static void padTo(StringBuilder b, long value, int width) {
        long limit = 10;
        for (int i = 1; i < width; i++) {
            if (value < limit) {
                b.append('0');
            }
            limit *= 10;
        }
        b.append(value);
    }

    /** Decimal digits only (no sign), at most 18 of them. */
    static long parseDigits(String text, int from, int end) {
        if (from >= end || end - from > 18) {
            throw new IllegalArgumentException("expected digits in: " + text);
        }
        long v = 0;
        for (int i = from; i < end; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                throw new IllegalArgumentException("expected digits in: " + text);
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }
}
