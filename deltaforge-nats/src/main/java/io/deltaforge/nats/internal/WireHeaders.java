package io.deltaforge.nats.internal;

import io.nats.client.impl.Headers;
import io.nats.client.support.ByteArrayBuilder;
import io.nats.client.support.NatsConstants;
import io.nats.client.support.NatsJetStreamConstants;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;

/**
 * The read-only headers of one outgoing message, written by jnats from bytes made when the message is built:
 * the lines its transaction shares ({@link Shared}, serialised once per transaction) and the message's own
 * ({@code Nats-Msg-Id}, and an atomic batch's headers). A plain {@link Headers} cost the sink thread two map
 * copies when jnats froze it and a validated put per message, and jnats' writer a walk over the map per
 * message: 43 % of the sink thread and 17 % of the writer in a profiled backlog drain.
 *
 * <p>jnats' publish path calls only {@code isEmpty}, {@code isReadOnly} (read-only headers are not copied),
 * {@code serializedLength} and {@code serializeToArray}; every other accessor answers from a plain
 * {@link Headers} of the same entries, built when first asked, so nothing that reads an outgoing message is
 * misled. The lines may come in another order than jnats would write them; their set is the same. Headers'
 * copy constructor and its {@code equals} read their argument's private map, which is empty here: never
 * {@code new Headers(wire)} (use {@link #mutableCopy}), never {@code plain.equals(wire)}.
 *
 * <p>Threads: built on the sending thread, then read by jnats' writer and whoever reads the message; immutable
 * but for the accessors' headers, which two threads may each build once.
 */
final class WireHeaders extends Headers {
    private static final byte[] VERSION_LINE = NatsConstants.HEADER_VERSION_BYTES_PLUS_CRLF;
    private static final byte CR = '\r';
    private static final byte LF = '\n';

    private final Shared shared;
    private final String messageId;
    /** Key, value, key, value...: an atomic batch's headers; empty otherwise. */
    private final String[] batch;
    /** The message's own lines, the shared lines it may displace but does not, and the closing CRLF. */
    private final byte[] ownLines;
    /** Volatile: Headers has fields that are not final, so it is not safe to share through a plain field. */
    private volatile @Nullable Headers entries;

    /**
     * @param batch an atomic batch's headers as key, value, key, value...; empty for none
     * @throws IllegalArgumentException when a value has CR, LF or a character beyond US-ASCII, as jnats
     *                                  refuses it; the message names the header
     */
    WireHeaders(Shared shared, String messageId, String[] batch) {
        super(null, true);
        this.shared = shared;
        this.messageId = messageId;
        this.batch = batch;
        int length = lineLength(NatsJetStreamConstants.MSG_ID_HDR, messageId) + 2;
        for (int i = 0; i < batch.length; i += 2) {
            length += lineLength(batch[i], batch[i + 1]);
        }
        String[] displaced = shared.displaceable;
        for (int i = 0; i < displaced.length; i += 2) {
            if (!setsKey(displaced[i])) {
                length += lineLength(displaced[i], displaced[i + 1]);
            }
        }
        byte[] lines = new byte[length];
        int at = line(lines, 0, NatsJetStreamConstants.MSG_ID_HDR, messageId);
        for (int i = 0; i < batch.length; i += 2) {
            at = line(lines, at, batch[i], batch[i + 1]);
        }
        for (int i = 0; i < displaced.length; i += 2) {
            if (!setsKey(displaced[i])) {
                at = line(lines, at, displaced[i], displaced[i + 1]);
            }
        }
        lines[at] = CR;
        lines[at + 1] = LF;
        this.ownLines = lines;
    }

    /**
     * A complete, mutable copy of {@code headers} without {@code keys}, whichever kind they are: Headers'
     * copy constructor would copy nothing of a WireHeaders.
     */
    static Headers mutableCopy(Headers headers, String... keys) {
        Headers source = headers instanceof WireHeaders wire ? wire.entries() : headers;
        return new Headers(source, false, keys);
    }

    private boolean setsKey(String key) {
        if (key.equals(NatsJetStreamConstants.MSG_ID_HDR)) {
            return true;
        }
        for (int i = 0; i < batch.length; i += 2) {
            if (batch[i].equals(key)) {
                return true;
            }
        }
        return false;
    }

    private static int lineLength(String key, String value) {
        return key.length() + 1 + value.length() + 2;
    }

    /** Writes {@code key:value\r\n}, checking the value as jnats' put does (the keys are our constants). */
    private static int line(byte[] to, int at, String key, String value) {
        for (int i = 0; i < key.length(); i++) {
            to[at++] = (byte) key.charAt(i);
        }
        to[at++] = ':';
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c > 127 || c == '\r' || c == '\n') {
                throw new IllegalArgumentException("header " + key + " has the invalid character 0x"
                        + Integer.toHexString(c) + " at " + i + "; NATS header values are US-ASCII without CR or LF");
            }
            to[at++] = (byte) c;
        }
        to[at++] = CR;
        to[at++] = LF;
        return at;
    }

    /** The same entries as a plain read-only Headers; the message's own replace shared ones of the same key. */
    private Headers entries() {
        Headers all = entries;
        if (all == null) {
            Headers building = new Headers(shared.entries);
            building.put(NatsJetStreamConstants.MSG_ID_HDR, messageId);
            for (int i = 0; i < batch.length; i += 2) {
                building.put(batch[i], batch[i + 1]);
            }
            all = new Headers(building, true);
            entries = all;
        }
        return all;
    }

    @Override
    public int serializedLength() {
        return shared.head.length + ownLines.length;
    }

    @Override
    public int serializeToArray(int destPosition, byte[] dest) {
        byte[] head = shared.head;
        System.arraycopy(head, 0, dest, destPosition, head.length);
        System.arraycopy(ownLines, 0, dest, destPosition + head.length, ownLines.length);
        return head.length + ownLines.length;
    }

    /** Never empty: every message has its id. */
    @Override
    public boolean isEmpty() {
        return false;
    }

    @Override
    public int size() {
        return entries().size();
    }

    @Override
    public boolean containsKey(String key) {
        return entries().containsKey(key);
    }

    @Override
    public boolean containsKeyIgnoreCase(String key) {
        return entries().containsKeyIgnoreCase(key);
    }

    @Override
    public Set<String> keySet() {
        return entries().keySet();
    }

    @Override
    public Set<String> keySetIgnoreCase() {
        return entries().keySetIgnoreCase();
    }

    @Override
    public @Nullable List<String> get(String key) {
        return entries().get(key);
    }

    @Override
    public @Nullable String getFirst(String key) {
        return entries().getFirst(key);
    }

    @Override
    public @Nullable String getLast(String key) {
        return entries().getLast(key);
    }

    @Override
    public @Nullable List<String> getIgnoreCase(String key) {
        return entries().getIgnoreCase(key);
    }

    @Override
    public void forEach(BiConsumer<String, List<String>> action) {
        entries().forEach(action);
    }

    @Override
    public Set<Map.Entry<String, List<String>>> entrySet() {
        return entries().entrySet();
    }

    @Override
    public Map<String, List<String>> toMap() {
        return entries().toMap();
    }

    @Override
    @Deprecated
    public ByteArrayBuilder appendSerialized(ByteArrayBuilder bab) {
        return bab.append(getSerialized());
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof Headers other)) {
            return false;
        }
        return entries().equals(other instanceof WireHeaders wire ? wire.entries() : other);
    }

    @Override
    public int hashCode() {
        return entries().hashCode();
    }

    @Override
    public String toString() {
        return entries().toString();
    }

    /**
     * What the messages of one transaction share, serialised once: the version line and every entry whose
     * key no message sets. An entry whose key a message may set (a configured header named like one) is kept
     * apart and written only by the messages that do not set it.
     */
    static final class Shared {
        private final Headers entries;
        private final byte[] head;
        /** Key, value, key, value... */
        private final String[] displaceable;

        /**
         * @param entries     validated already (built with {@link Headers#put}), and never changed afterwards:
         *                    kept, not copied
         * @param messageKeys the keys a message may set itself
         */
        Shared(Headers entries, Set<String> messageKeys) {
            this.entries = entries;
            StringBuilder lines = new StringBuilder(entries.serializedLength());
            List<String> displaced = new ArrayList<>(0);
            entries.forEach((key, values) -> {
                for (String value : values) {
                    if (messageKeys.contains(key)) {
                        displaced.add(key);
                        displaced.add(value);
                    } else {
                        lines.append(key).append(':').append(value).append("\r\n");
                    }
                }
            });
            byte[] text = lines.toString().getBytes(StandardCharsets.US_ASCII);
            this.head = new byte[VERSION_LINE.length + text.length];
            System.arraycopy(VERSION_LINE, 0, head, 0, VERSION_LINE.length);
            System.arraycopy(text, 0, head, VERSION_LINE.length, text.length);
            this.displaceable = displaced.toArray(new String[0]);
        }
    }
}
