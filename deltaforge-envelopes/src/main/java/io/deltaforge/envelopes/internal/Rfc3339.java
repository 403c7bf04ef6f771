package io.deltaforge.envelopes.internal;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * RFC 3339 UTC timestamps with at least millisecond digits: {@code 2025-01-15T10:30:00.000Z}, and six or
 * nine fraction digits when the instant has them (PostgreSQL commit times carry microseconds).
 *
 * <p>{@link DateTimeFormatter#ISO_INSTANT} drops a zero fraction ({@code 10:30:00Z}), which would make
 * the width of the field depend on the value; consumers that sort or diff by text prefer a fixed minimum.
 */
public final class Rfc3339 {
    private Rfc3339() {
    }

    public static String format(Instant instant) {
        LocalDateTime t = LocalDateTime.ofEpochSecond(instant.getEpochSecond(), 0, ZoneOffset.UTC);
        int year = t.getYear();
        if (year < 0 || year > 9999) {
            // RFC 3339 has four-digit years only; no commit time gets there, but stay total.
            return DateTimeFormatter.ISO_INSTANT.format(instant);
        }
        int nanos = instant.getNano();
        int digits = nanos % 1_000_000 == 0 ? 3 : nanos % 1_000 == 0 ? 6 : 9;
        char[] c = new char[20 + digits + 1];
        put(c, 0, year, 4);
        c[4] = '-';
        put(c, 5, t.getMonthValue(), 2);
        c[7] = '-';
        put(c, 8, t.getDayOfMonth(), 2);
        c[10] = 'T';
        put(c, 11, t.getHour(), 2);
        c[13] = ':';
        put(c, 14, t.getMinute(), 2);
        c[16] = ':';
        put(c, 17, t.getSecond(), 2);
        c[19] = '.';
        int fraction = digits == 3 ? nanos / 1_000_000 : digits == 6 ? nanos / 1_000 : nanos;
        put(c, 20, fraction, digits);
        c[20 + digits] = 'Z';
        return new String(c);
    }

    /** Writes {@code value} as exactly {@code width} decimal digits, zero-padded. */
    static void put(char[] c, int at, long value, int width) {
        long v = value;
        for (int i = at + width - 1; i >= at; i--) {
            c[i] = (char) ('0' + (v % 10));
            v /= 10;
        }
    }
}
