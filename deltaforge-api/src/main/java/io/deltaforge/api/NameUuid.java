package io.deltaforge.api;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * The text of a name-based UUID (RFC 9562 version 5) whose name is appended piece by piece as UTF-8, for
 * {@link EventIds}. The same UUID as hashing namespace + name with the JDK's SHA-1 MessageDigest, but without
 * building the name as a String first, without a digest object per id, and with the text written directly:
 * an id is computed for every event on the reader thread. An instance makes one id.
 */
final class NameUuid {
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);
    /** The longest decimal text of a long: a sign and 19 digits. */
    private static final int MAX_LONG_CHARS = 20;
    /**
     * One SHA-1 block: the namespace, a name of up to 39 bytes (a short source id with a commit LSN and an
     * index) and the padding; longer names grow the array.
     */
    private static final int INITIAL_CAPACITY = 64;

    /** Namespace then name; its tail is reused for the hash's padding. */
    private byte[] bytes;
    private int length;

    private NameUuid(byte[] namespace) {
        bytes = Arrays.copyOf(namespace, INITIAL_CAPACITY);
        length = namespace.length;
    }

    static NameUuid in(byte[] namespace) {
        return new NameUuid(namespace);
    }

    /** The 16 bytes of a namespace UUID, as they precede the name in the hash. */
    static byte[] namespaceBytes(UUID namespace) {
        byte[] out = new byte[16];
        long msb = namespace.getMostSignificantBits();
        long lsb = namespace.getLeastSignificantBits();
        for (int i = 0; i < 8; i++) {
            out[i] = (byte) (msb >>> (56 - 8 * i));
            out[8 + i] = (byte) (lsb >>> (56 - 8 * i));
        }
        return out;
    }

    /**
     * Appends {@code text} as UTF-8. ASCII is copied char by char; anything else goes through
     * {@link String#getBytes} so surrogates (also unpaired ones) are encoded exactly as the JDK does. A null
     * is "null", as string concatenation, which made the names before, wrote it.
     */
    NameUuid append(@Nullable String text) {
        String t = text == null ? "null" : text;
        int n = t.length();
        ensureRoom(n);
        // On locals, and the length written once: C1 would store the field on every character.
        byte[] out = bytes;
        int at = length;
        for (int i = 0; i < n; i++) {
            char c = t.charAt(i);
            if (c >= 0x80) {
                return appendBytes(t.getBytes(StandardCharsets.UTF_8));
            }
            out[at++] = (byte) c;
        }
        length = at;
        return this;
    }

    /** Appends an ASCII character. */
    NameUuid append(char ascii) {
        if (ascii >= 0x80) {
            throw new IllegalArgumentException("not an ASCII character: " + (int) ascii);
        }
        ensureRoom(1);
        bytes[length++] = (byte) ascii;
        return this;
    }

    /** Appends {@code value} in decimal, as {@link Long#toString(long)} writes it. */
    NameUuid append(long value) {
        ensureRoom(MAX_LONG_CHARS);
        // Digits are written from the end of the room, then moved down; counting in negatives lets
        // Long.MIN_VALUE, whose magnitude has no long, take the same path.
        int end = length + MAX_LONG_CHARS;
        int pos = end;
        long negative = value < 0 ? value : -value;
        do {
            // The digit from the quotient rather than by a second division (%): C1 does not turn a division by
            // a constant into a multiplication, so each is a hardware divide, and a commit LSN has 11 digits.
            long quotient = negative / 10;
            bytes[--pos] = (byte) ('0' + (int) (quotient * 10 - negative));
            negative = quotient;
        } while (negative != 0);
        if (value < 0) {
            bytes[--pos] = '-';
        }
        System.arraycopy(bytes, pos, bytes, length, end - pos);
        length += end - pos;
        return this;
    }

    /** The UUID of the namespace and the name appended so far, in its usual lower-case text form. */
    String toText() {
        int needed = Sha1.paddedLength(length);
        if (bytes.length < needed) {
            bytes = Arrays.copyOf(bytes, needed);
        }
        int[] h = Sha1.digest(bytes, length);
        int high = (h[1] & 0xFFFF0FFF) | 0x00005000; // version 5
        int clockSeq = (h[2] & 0x3FFFFFFF) | 0x80000000; // variant of RFC 9562
        byte[] text = new byte[36];
        hex(text, 0, h[0], 8);
        text[8] = '-';
        hex(text, 9, high >>> 16, 4);
        text[13] = '-';
        hex(text, 14, high, 4);
        text[18] = '-';
        hex(text, 19, clockSeq >>> 16, 4);
        text[23] = '-';
        hex(text, 24, clockSeq, 4);
        hex(text, 28, h[3], 8);
        return new String(text, StandardCharsets.ISO_8859_1);
    }

    private static void hex(byte[] out, int offset, int value, int digits) {
        for (int i = offset + digits - 1; i >= offset; i--) {
            out[i] = HEX[value & 0xf];
            value >>>= 4;
        }
    }

    private NameUuid appendBytes(byte[] more) {
        ensureRoom(more.length);
        System.arraycopy(more, 0, bytes, length, more.length);
        length += more.length;
        return this;
    }

    private void ensureRoom(int more) {
        if (length + more > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(2 * bytes.length, length + more));
        }
    }
}
