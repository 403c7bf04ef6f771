package io.deltaforge.envelopes.internal;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * Writes compact JSON as UTF-8 straight into a growable byte array: the envelopes' writer for every event.
 * It replaces Jackson's generator on the hot path because C1, which the runner uses by default, does not
 * inline the generator's layers (context checks, buffer flushes, per-segment escaping); a profile of a
 * backlog drain had the batcher thread spend most of its time there.
 *
 * <p>The output is byte for byte what Jackson 2's {@code UTF8JsonGenerator} writes with its default
 * features (and plain BigDecimals), so switching changed no message:
 * <ul>
 *   <li>strings escape {@code "}, {@code \} and the control characters below 0x20: {@code \b \t \n \f \r}
 *       short, the others as {@code &#92;u00XX} with upper-case hex; {@code /}, DEL and non-ASCII are not
 *       escaped but written as UTF-8;
 *   <li>each surrogate of a string, paired or not, is written as its own {@code &#92;uXXXX} escape, as
 *       Jackson does unless {@code COMBINE_UNICODE_SURROGATES_IN_UTF8} is enabled; pre-encoded
 *       {@link JsonString}s differ here, as Jackson's {@code SerializedString} does;
 *   <li>raw JSON is written as UTF-8 unchanged, and an unpaired surrogate in it fails the event;
 *   <li>numbers as {@link Long#toString}, {@link Double#toString} (NaN and the infinities quoted, as
 *       Jackson writes them unless {@code WRITE_NAN_AS_STRINGS} is disabled),
 *       {@link BigDecimal#toPlainString} (a scale beyond ±9999 fails the event, Jackson's guard against huge
 *       plain output) and {@link BigInteger#toString};
 *   <li>nesting deeper than 1,000 fails the event, Jackson's default limit.
 * </ul>
 *
 * <p>Commas and colons are placed by one flag rather than a context stack: a value or a start of a
 * container follows a comma unless it opens a container or follows a field name. That needs callers to
 * write well-formed JSON, which the envelopes do by construction; their tests check it.
 *
 * <p>Not thread-safe: one writer per thread at a time (see {@link JsonOutput.Writers}).
 */
public final class JsonBytes {
    /** Jackson's default {@code StreamWriteConstraints} nesting limit. */
    private static final int MAX_DEPTH = 1000;
    /** Jackson's bound on a plain BigDecimal's scale. */
    private static final int MAX_PLAIN_SCALE = 9999;
    /** A buffer kept between events; a larger one, left by a huge event, is dropped. */
    private static final int KEEP = 64 * 1024;
    private static final int FIRST = 4 * 1024;
    /** Characters escaped per step: bounds the room a long string reserves at once (6 bytes per char). */
    private static final int CHUNK = 1024;
    private static final byte[] HEX = "0123456789ABCDEF".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] NULL = {'n', 'u', 'l', 'l'};
    private static final byte[] TRUE = {'t', 'r', 'u', 'e'};
    private static final byte[] FALSE = {'f', 'a', 'l', 's', 'e'};
    /**
     * Per ASCII character: 0 written as is, a letter for its two-character escape ({@code \n}), -1 for
     * {@code &#92;u00XX}.
     */
    private static final byte[] ESCAPES = new byte[128];

    static {
        Arrays.fill(ESCAPES, 0, 0x20, (byte) -1);
        ESCAPES['"'] = '"';
        ESCAPES['\\'] = '\\';
        ESCAPES['\b'] = 'b';
        ESCAPES['\t'] = 't';
        ESCAPES['\n'] = 'n';
        ESCAPES['\f'] = 'f';
        ESCAPES['\r'] = 'r';
    }

    private byte[] buf;
    private int count;
    /** Whether the next value or field name needs a comma before it. */
    private boolean comma;
    private int depth;
    /** Characters of the string being written, copied out of it a chunk at a time; made on first use. */
    private char @Nullable [] chars;
    /** Row writing finds the writer's names cache here, as every row of an event goes through its writer. */
    private final ColumnNames columnNames = new ColumnNames();

    /**
     * Whether to write as Jackson's default character-based generator did, for text embedded later (see
     * {@link #forEmbeddedText}): a surrogate pair in a string as the 4-byte character, not two escapes (an
     * unpaired one fails the value), and a BigDecimal as {@link BigDecimal#toString}.
     */
    private final boolean embeddedText;

    public JsonBytes() {
        this(FIRST, false);
    }

    /** A writer whose first buffer holds {@code capacity} bytes, for a short value. */
    public JsonBytes(int capacity) {
        this(capacity, false);
    }

    private JsonBytes(int capacity, boolean embeddedText) {
        this.buf = new byte[capacity];
        this.embeddedText = embeddedText;
    }

    /**
     * A writer for JSON text that is later embedded with {@link #writeRawValue} (column defaults in Debezium's
     * schemas, built once per table), writing what Jackson's default character-based generator wrote there.
     */
    public static JsonBytes forEmbeddedText() {
        return new JsonBytes(256, true);
    }

    ColumnNames columnNames() {
        return columnNames;
    }

    /** The bytes written since the last call, and a fresh start for the next root value. */
    public byte[] takeBytes() {
        byte[] bytes = Arrays.copyOf(buf, count);
        reset();
        return bytes;
    }

    private void reset() {
        count = 0;
        comma = false;
        depth = 0;
        if (buf.length > KEEP) {
            // One huge event must not pin its buffer for the life of the pipeline.
            buf = new byte[FIRST];
        }
    }

    public void writeStartObject() throws IOException {
        open((byte) '{');
    }

    public void writeEndObject() {
        close((byte) '}');
    }

    public void writeStartArray() throws IOException {
        open((byte) '[');
    }

    public void writeEndArray() {
        close((byte) ']');
    }

    public void writeFieldName(String name) throws IOException {
        separate();
        quoted(name);
        buf[count++] = ':';
        comma = false;
    }

    public void writeFieldName(JsonString name) {
        byte[] quoted = name.quoted();
        ensure(quoted.length + 2);
        if (comma) {
            buf[count++] = ',';
        }
        System.arraycopy(quoted, 0, buf, count, quoted.length);
        count += quoted.length;
        buf[count++] = ':';
        comma = false;
    }

    /** A string value; null writes {@code null}. */
    public void writeString(@Nullable String value) throws IOException {
        if (value == null) {
            writeNull();
            return;
        }
        separate();
        quoted(value);
        comma = true;
    }

    public void writeString(JsonString value) {
        byte[] quoted = value.quoted();
        ensure(quoted.length + 1);
        if (comma) {
            buf[count++] = ',';
        }
        System.arraycopy(quoted, 0, buf, count, quoted.length);
        count += quoted.length;
        comma = true;
    }

    /** A string of {@code len} characters of {@code text} from {@code off}. */
    public void writeString(char[] text, int off, int len) {
        separate();
        ensure(len * 6 + 3);
        buf[count++] = '"';
        escape(text, off, off + len);
        buf[count++] = '"';
        comma = true;
    }

    public void writeNumber(long value) {
        separate();
        ensure(20);
        if (value == Long.MIN_VALUE) {
            ascii("-9223372036854775808");
        } else {
            if (value < 0) {
                buf[count++] = '-';
                value = -value;
            }
            // One division per digit: C1 divides for real, where C2 would multiply.
            int end = count + 19;
            int at = end;
            do {
                long quotient = value / 10;
                buf[--at] = (byte) ('0' + (value - quotient * 10));
                value = quotient;
            } while (value != 0);
            int digits = end - at;
            System.arraycopy(buf, at, buf, count, digits);
            count += digits;
        }
        comma = true;
    }

    public void writeNumber(int value) {
        writeNumber((long) value);
    }

    /** As {@link Double#toString}; a non-finite one as that text quoted, since JSON has no such numbers. */
    public void writeNumber(double value) {
        separate();
        if (Double.isFinite(value)) {
            ascii(Double.toString(value));
        } else {
            buf[count++] = '"';
            ascii(Double.toString(value));
            ensure(1);
            buf[count++] = '"';
        }
        comma = true;
    }

    /** In plain notation with every digit (embedded text: as {@link BigDecimal#toString}). */
    public void writeNumber(BigDecimal value) throws IOException {
        if (embeddedText) {
            separate();
            ascii(value.toString());
            comma = true;
            return;
        }
        int scale = value.scale();
        if (scale < -MAX_PLAIN_SCALE || scale > MAX_PLAIN_SCALE) {
            throw new IOException("cannot write the decimal with scale " + scale + " in plain notation: the scale"
                    + " must be between -" + MAX_PLAIN_SCALE + " and " + MAX_PLAIN_SCALE);
        }
        separate();
        ascii(value.toPlainString());
        comma = true;
    }

    public void writeNumber(BigInteger value) {
        separate();
        ascii(value.toString());
        comma = true;
    }

    public void writeBoolean(boolean value) {
        separate();
        bytes(value ? TRUE : FALSE);
        comma = true;
    }

    public void writeNull() {
        separate();
        bytes(NULL);
        comma = true;
    }

    /** JSON text written as it is, as UTF-8. */
    public void writeRawValue(String json) throws IOException {
        separate();
        int len = json.length();
        for (int from = 0; from < len; ) {
            int to = Math.min(len, from + CHUNK);
            if (to < len && Character.isHighSurrogate(json.charAt(to - 1))) {
                // Keep a pair together: its low half opens the next chunk otherwise.
                to--;
            }
            int n = to - from;
            char[] chars = chunk();
            json.getChars(from, to, chars, 0);
            ensure(n * 3);
            int end = utf8(chars, 0, n, buf, count, false);
            if (end < 0) {
                throw new IOException("cannot write raw JSON with an unpaired surrogate (at or after character "
                        + from + " of " + len + ")");
            }
            count = end;
            from = to;
        }
        comma = true;
    }

    public void writeStringField(String name, String value) throws IOException {
        writeFieldName(name);
        writeString(value);
    }

    public void writeNumberField(String name, long value) throws IOException {
        writeFieldName(name);
        writeNumber(value);
    }

    public void writeNumberField(String name, int value) throws IOException {
        writeFieldName(name);
        writeNumber(value);
    }

    public void writeNumberField(String name, double value) throws IOException {
        writeFieldName(name);
        writeNumber(value);
    }

    public void writeNullField(String name) throws IOException {
        writeFieldName(name);
        writeNull();
    }

    private void open(byte bracket) throws IOException {
        if (++depth > MAX_DEPTH) {
            throw new IOException("cannot write JSON nested deeper than " + MAX_DEPTH + " levels");
        }
        separate();
        buf[count++] = bracket;
        comma = false;
    }

    private void close(byte bracket) {
        depth--;
        ensure(1);
        buf[count++] = bracket;
        comma = true;
    }

    /** Room for a comma and a short token, and the comma when one is due. */
    private void separate() {
        ensure(8);
        if (comma) {
            buf[count++] = ',';
        }
    }

    /** {@code "text"}, escaped, a chunk at a time so a long string reserves a bounded room. */
    private void quoted(String text) throws IOException {
        int len = text.length();
        ensure(Math.min(len, CHUNK) * 6 + 3);
        buf[count++] = '"';
        for (int from = 0; from < len; ) {
            int to = Math.min(len, from + CHUNK);
            char[] chars = chunk();
            text.getChars(from, to, chars, 0);
            ensure((to - from) * 6 + 2);
            if (embeddedText) {
                if (to < len && Character.isHighSurrogate(chars[to - from - 1])) {
                    // Keep a pair together: its low half opens the next chunk otherwise.
                    to--;
                }
                int end = utf8(chars, 0, to - from, buf, count, true);
                if (end < 0) {
                    throw new IOException("cannot write a string with an unpaired surrogate as embedded JSON text");
                }
                count = end;
            } else {
                escape(chars, 0, to - from);
            }
            from = to;
        }
        buf[count++] = '"';
    }

    /**
     * Escapes and encodes into the buffer, which the caller made room in (6 bytes per char). The hot loop of
     * every event, kept apart from {@link #utf8} so that it tests no mode per character.
     */
    private void escape(char[] text, int from, int to) {
        byte[] b = buf;
        int at = count;
        for (int i = from; i < to; i++) {
            char c = text[i];
            if (c < 0x80) {
                byte e = ESCAPES[c];
                if (e == 0) {
                    b[at++] = (byte) c;
                } else if (e > 0) {
                    b[at++] = '\\';
                    b[at++] = e;
                } else {
                    at = unicodeEscape(c, b, at);
                }
            } else if (c < 0x800) {
                b[at++] = (byte) (0xC0 | (c >> 6));
                b[at++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isSurrogate(c)) {
                at = unicodeEscape(c, b, at);
            } else {
                b[at++] = (byte) (0xE0 | (c >> 12));
                b[at++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                b[at++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        count = at;
    }

    private char[] chunk() {
        char[] c = chars;
        if (c == null) {
            c = new char[CHUNK];
            chars = c;
        }
        return c;
    }

    /** {@code &#92;uXXXX} with upper-case hex. */
    static int unicodeEscape(char c, byte[] b, int at) {
        b[at++] = '\\';
        b[at++] = 'u';
        b[at++] = HEX[c >> 12];
        b[at++] = HEX[(c >> 8) & 0xF];
        b[at++] = HEX[(c >> 4) & 0xF];
        b[at++] = HEX[c & 0xF];
        return at;
    }

    /**
     * Encodes {@code src[from, to)} as UTF-8 into {@code dst} at {@code at} (room for 6 bytes per char), a
     * surrogate pair as one 4-byte character, escaping ASCII as strings need when {@code escapeAscii}.
     * Returns the end, or -1 at an unpaired surrogate: raw JSON and pre-encoded strings cannot hold one.
     */
    static int utf8(char[] src, int from, int to, byte[] dst, int at, boolean escapeAscii) {
        for (int i = from; i < to; i++) {
            char c = src[i];
            if (c < 0x80) {
                byte e = escapeAscii ? ESCAPES[c] : 0;
                if (e == 0) {
                    dst[at++] = (byte) c;
                } else if (e > 0) {
                    dst[at++] = '\\';
                    dst[at++] = e;
                } else {
                    at = unicodeEscape(c, dst, at);
                }
            } else if (c < 0x800) {
                dst[at++] = (byte) (0xC0 | (c >> 6));
                dst[at++] = (byte) (0x80 | (c & 0x3F));
            } else if (!Character.isSurrogate(c)) {
                dst[at++] = (byte) (0xE0 | (c >> 12));
                dst[at++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                dst[at++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isHighSurrogate(c) && i + 1 < to && Character.isLowSurrogate(src[i + 1])) {
                int cp = Character.toCodePoint(c, src[++i]);
                dst[at++] = (byte) (0xF0 | (cp >> 18));
                dst[at++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                dst[at++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                dst[at++] = (byte) (0x80 | (cp & 0x3F));
            } else {
                return -1;
            }
        }
        return at;
    }

    /** ASCII text such as a number's digits. */
    private void ascii(String text) {
        int len = text.length();
        ensure(len);
        for (int i = 0; i < len; i++) {
            buf[count++] = (byte) text.charAt(i);
        }
    }

    private void bytes(byte[] b) {
        ensure(b.length);
        System.arraycopy(b, 0, buf, count, b.length);
        count += b.length;
    }

    private void ensure(int more) {
        if (count + more > buf.length) {
            // The growth apart, so that this check is small enough for C1 to inline at each of its callers.
            grow(more);
        }
    }

    private void grow(int more) {
        buf = Arrays.copyOf(buf, Math.max(buf.length * 2, count + more));
    }
}
