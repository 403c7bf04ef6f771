package io.deltaforge.postgres.internal;

import java.math.BigDecimal;
import java.util.Base64;

/**
 * Single values from PostgreSQL's text output: numbers, booleans, bytea, money. Each method throws a
 * runtime exception on text it does not expect; {@link TypeMapper} then keeps the text.
 */
final class Scalars {
    private Scalars() {
    }

    /** The strings JSON has no number for; numeric and float write them this way. */
    static boolean isSpecialNumber(String text) {
        return text.equals("NaN") || text.equals("Infinity") || text.equals("-Infinity");
    }

    static Object integer(String text) {
        return Long.parseLong(text);
    }

    static Object floating(String text) {
        return isSpecialNumber(text) ? text : (Object) Double.parseDouble(text);
    }

    static Object numeric(String text) {
        return isSpecialNumber(text) ? text : new BigDecimal(text);
    }

    static Object bool(String text) {
        return switch (text) {
            case "t", "true" -> Boolean.TRUE;
            case "f", "false" -> Boolean.FALSE;
            default -> throw new IllegalArgumentException("not a boolean: " + text);
        };
    }

    /**
     * Base64 of the bytes, from the {@code hex} output ({@code \xdeadbeef}, the default) or the {@code escape}
     * output ({@code abc\000\\}).
     */
    static Object bytea(String text) {
        return Base64.getEncoder().encodeToString(byteaBytes(text));
    }

    static byte[] byteaBytes(String text) {
        if (text.startsWith("\\x")) {
            int n = (text.length() - 2) / 2;
            if (text.length() % 2 != 0) {
                throw new IllegalArgumentException("odd hex length");
            }
            byte[] bytes = new byte[n];
            for (int i = 0; i < n; i++) {
                int hi = Character.digit(text.charAt(2 + 2 * i), 16);
                int lo = Character.digit(text.charAt(3 + 2 * i), 16);
                if (hi < 0 || lo < 0) {
                    throw new IllegalArgumentException("not hex");
                }
                bytes[i] = (byte) (hi << 4 | lo);
            }
            return bytes;
        }
        // escape format: printable ASCII as is, backslash doubled, everything else as \ooo octal
        byte[] out = new byte[text.length()];
        int n = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\') {
                if (i + 1 < text.length() && text.charAt(i + 1) == '\\') {
                    out[n++] = '\\';
                    i++;
                } else if (i + 3 < text.length() && isOctal(text.charAt(i + 1)) && isOctal(text.charAt(i + 2))
                        && isOctal(text.charAt(i + 3))) {
                    out[n++] = (byte) ((text.charAt(i + 1) - '0') << 6 | (text.charAt(i + 2) - '0') << 3
                            | (text.charAt(i + 3) - '0'));
                    i += 3;
                } else {
                    throw new IllegalArgumentException("bad bytea escape");
                }
            } else if (c < 0x80) {
                out[n++] = (byte) c;
            } else {
                throw new IllegalArgumentException("non-ASCII in bytea escape output");
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    private static boolean isOctal(char c) {
        return c >= '0' && c <= '7';
    }

    /**
     * The amount of a money value as PostgreSQL prints it with {@code lc_monetary=C}: {@code $1,234.56},
     * {@code -$1,234.56}. Other locales' text (another symbol, grouping or decimal mark) is refused so
     * that the caller keeps the text: guessing which mark is the decimal one could change the amount.
     */
    static Object money(String text) {
        int i = 0;
        int n = text.length();
        boolean negative = false;
        if (i < n && text.charAt(i) == '-') {
            negative = true;
            i++;
        }
        if (i < n && text.charAt(i) == '$') {
            i++;
        }
        StringBuilder digits = new StringBuilder(n);
        if (negative) {
            digits.append('-');
        }
        int group = 0;
        boolean grouped = false;
        boolean any = false;
        for (; i < n; i++) {
            char c = text.charAt(i);
            if (c >= '0' && c <= '9') {
                digits.append(c);
                group++;
                any = true;
            } else if (c == ',' && any && (grouped ? group == 3 : group <= 3)) {
                grouped = true;
                group = 0;
            } else {
                break;
            }
        }
        if (!any || (grouped && group != 3)) {
            throw new IllegalArgumentException("not C-locale money: " + text);
        }
        if (i < n) {
            if (text.charAt(i) != '.' || i + 1 == n) {
                throw new IllegalArgumentException("not C-locale money: " + text);
            }
            digits.append('.');
            for (i++; i < n; i++) {
                char c = text.charAt(i);
                if (c < '0' || c > '9') {
                    throw new IllegalArgumentException("not C-locale money: " + text);
                }
                digits.append(c);
            }
        }
        return new BigDecimal(digits.toString());
    }
}
