package io.deltaforge.envelopes.internal;

/**
 * A string quoted and encoded once, for names and values written into every event (field names, a table's
 * {@code source}, the type of each op), so that writing it is one array copy.
 *
 * <p>Encoded as Jackson's {@code SerializedString} was, which this replaces, so the envelopes' bytes did not
 * change: escaped as {@link JsonBytes} escapes, but a surrogate pair is one 4-byte UTF-8 character rather
 * than two {@code &#92;uXXXX} escapes. An unpaired surrogate cannot be encoded so; as with
 * {@code SerializedString}, making one succeeds and every write of it fails.
 *
 * <p>Immutable and thread-safe.
 */
public final class JsonString {
    private final String value;
    private final byte @org.jspecify.annotations.Nullable [] quoted;

    public JsonString(String value) {
        this.value = value;
        char[] chars = value.toCharArray();
        byte[] out = new byte[chars.length * 6 + 2];
        out[0] = '"';
        int end = JsonBytes.utf8(chars, 0, chars.length, out, 1, true);
        if (end < 0) {
            this.quoted = null;
        } else {
            out[end++] = '"';
            this.quoted = java.util.Arrays.copyOf(out, end);
        }
    }

    /** The string as given. */
    public String value() {
        return value;
    }

    /** The quoted UTF-8 bytes; not to be modified. */
    byte[] quoted() {
        byte[] q = quoted;
        if (q == null) {
            // Apart, so that this stays small enough for C1 to inline at every field name.
            throw unpairedSurrogate();
        }
        return q;
    }

    private IllegalArgumentException unpairedSurrogate() {
        return new IllegalArgumentException("cannot write '" + value + "' as JSON: it holds an unpaired surrogate");
    }

    @Override
    public String toString() {
        return value;
    }
}
