package io.deltaforge.envelopes.internal;

import java.nio.charset.StandardCharsets;

/**
 * The two escapings the CloudEvents envelope needs: header values of the NATS protocol binding (binary
 * mode) and path segments of the {@code source} URI-reference.
 */
public final class PercentEncoding {
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private PercentEncoding() {
    }

    /**
     * A header value per the CloudEvents NATS binding, section 3.1.3.2: space, double quote, percent and
     * everything outside printable ASCII (U+0021..U+007E) become {@code %XY} of their UTF-8 bytes, upper
     * case. Returns the same string when nothing needs encoding, the common case.
     */
    public static String headerValue(String value) {
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            if (ch <= 0x20 || ch >= 0x7F || ch == '"' || ch == '%') {
                return encode(value, i, false);
            }
        }
        return value;
    }

    /**
     * A URI path segment (RFC 3986 {@code segment}): keeps unreserved characters, sub-delims, {@code :}
     * and {@code @}; encodes the rest, including {@code /}, so a table named {@code a/b} stays one segment
     * and {@code java.net.URI} accepts the result.
     */
    public static String pathSegment(String value) {
        for (int i = 0; i < value.length(); i++) {
            if (!isPchar(value.charAt(i))) {
                return encode(value, i, true);
            }
        }
        return value;
    }

    private static boolean isPchar(char ch) {
        if (ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
            return true;
        }
        return "-._~!$&'()*+,;=:@".indexOf(ch) >= 0;
    }

    private static boolean needsEncoding(char ch, boolean uri) {
        return uri ? !isPchar(ch) : ch <= 0x20 || ch >= 0x7F || ch == '"' || ch == '%';
    }

    private static String encode(String value, int firstBad, boolean uri) {
        StringBuilder out = new StringBuilder(value.length() + 16);
        out.append(value, 0, firstBad);
        int i = firstBad;
        while (i < value.length()) {
            char ch = value.charAt(i);
            if (!needsEncoding(ch, uri)) {
                out.append(ch);
                i++;
                continue;
            }
            // A surrogate pair is one character: encode its four UTF-8 bytes together.
            int len = Character.isHighSurrogate(ch) && i + 1 < value.length()
                    && Character.isLowSurrogate(value.charAt(i + 1)) ? 2 : 1;
            for (byte b : value.substring(i, i + len).getBytes(StandardCharsets.UTF_8)) {
                out.append('%').append(HEX[(b >> 4) & 0xF]).append(HEX[b & 0xF]);
            }
            i += len;
        }
        return out.toString();
    }
}
