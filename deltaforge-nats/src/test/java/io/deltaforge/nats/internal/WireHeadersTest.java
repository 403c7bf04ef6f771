package io.deltaforge.nats.internal;

import static io.nats.client.support.NatsJetStreamConstants.EXPECTED_STREAM_HDR;
import static io.nats.client.support.NatsJetStreamConstants.MSG_ID_HDR;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nats.client.impl.Headers;
import io.nats.client.support.IncomingHeadersProcessor;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WireHeadersTest {
    private static final Set<String> MESSAGE_KEYS = Set.of(MSG_ID_HDR, AtomicBatches.BATCH_ID,
            AtomicBatches.BATCH_SEQUENCE, AtomicBatches.BATCH_COMMIT, AtomicBatches.PART_HEADER,
            AtomicBatches.LAST_PART_HEADER);
    private static final String ID = "5f0c6f2e-6a4e-5d8b-9a53-1f0e2d3c4b5a";
    private static final String[] SPLIT_COMMIT = {AtomicBatches.BATCH_ID, "pg@0/16B3748#2.1c", AtomicBatches.BATCH_SEQUENCE,
            "1000", AtomicBatches.BATCH_COMMIT, "1", AtomicBatches.PART_HEADER, "2", AtomicBatches.LAST_PART_HEADER,
            "true"};

    /** What a transaction's messages share, as OutgoingMessages builds it. */
    private static Headers transaction(Map<String, String> configured) {
        Headers headers = new Headers();
        configured.forEach(headers::put);
        headers.put(OutgoingMessages.CONTENT_TYPE, "application/cloudevents+json");
        headers.put(EXPECTED_STREAM_HDR, "orders");
        headers.put(StoredEvents.ORIGIN_HEADER, "pg@0/16B3748");
        return headers;
    }

    private static WireHeaders wire(Headers transaction, String id, String... batch) {
        return new WireHeaders(new WireHeaders.Shared(transaction, MESSAGE_KEYS), id, batch);
    }

    /** The same entries as jnats' own Headers hold them, put in the order the sink put them before. */
    private static Headers plain(Headers transaction, String id, String... batch) {
        Headers headers = new Headers(transaction);
        headers.put(MSG_ID_HDR, id);
        for (int i = 0; i < batch.length; i += 2) {
            headers.put(batch[i], batch[i + 1]);
        }
        return headers;
    }

    /** The bytes {@code serializeToArray} writes, checking that it writes exactly what it said it would. */
    private static byte[] written(Headers headers) {
        int at = 7;
        byte[] dest = new byte[at + headers.serializedLength() + 5];
        Arrays.fill(dest, (byte) '#');
        int length = headers.serializeToArray(at, dest);
        assertThat(length).isEqualTo(headers.serializedLength());
        assertThat(Arrays.copyOfRange(dest, 0, at)).containsOnly('#');
        assertThat(Arrays.copyOfRange(dest, at + length, dest.length)).hasSize(5).containsOnly('#');
        return Arrays.copyOfRange(dest, at, at + length);
    }

    private static Headers parsed(byte[] wire) {
        return new IncomingHeadersProcessor(wire).getHeaders();
    }

    private static void assertWritesAsJnats(Headers transaction, String... batch) {
        Headers expected = plain(transaction, ID, batch);
        WireHeaders wire = wire(transaction, ID, batch);

        byte[] bytes = written(wire);

        assertThat(parsed(bytes)).isEqualTo(parsed(written(expected))).isEqualTo(expected);
        assertThat(bytes).hasSize(written(expected).length);
        assertThat(wire.serializedLength()).isEqualTo(expected.serializedLength());
        assertThat(new String(bytes, 0, 10, StandardCharsets.US_ASCII)).isEqualTo("NATS/1.0\r\n");
    }

    @Test
    void anEventByEventMessageWritesTheEntriesJnatsWouldWrite() {
        assertWritesAsJnats(transaction(Map.of("x-team", "identity", "x-empty", "")), OutgoingMessages.NO_BATCH);
        assertWritesAsJnats(transaction(Map.of()), OutgoingMessages.NO_BATCH);
    }

    @Test
    void anAtomicBatchMessageWritesTheEntriesJnatsWouldWrite() {
        Headers transaction = transaction(Map.of("x-team", "identity"));
        assertWritesAsJnats(transaction, SPLIT_COMMIT);
        assertWritesAsJnats(transaction, AtomicBatches.BATCH_ID, "pg@0/16B3748.1c", AtomicBatches.BATCH_SEQUENCE, "7");
    }

    @Test
    void aConfiguredHeaderNamedLikeAMessagesOwnGoesOutOnlyWhereTheMessageDoesNotSetIt() {
        Map<String, String> configured = new LinkedHashMap<>();
        configured.put(MSG_ID_HDR, "configured");
        configured.put(AtomicBatches.BATCH_COMMIT, "configured");
        Headers transaction = transaction(configured);

        assertWritesAsJnats(transaction, OutgoingMessages.NO_BATCH);
        assertWritesAsJnats(transaction, SPLIT_COMMIT);
        assertWritesAsJnats(transaction, AtomicBatches.BATCH_ID, "b", AtomicBatches.BATCH_SEQUENCE, "2");
        assertThat(parsed(written(wire(transaction, ID))).getFirst(AtomicBatches.BATCH_COMMIT)).isEqualTo("configured");
        assertThat(parsed(written(wire(transaction, ID, SPLIT_COMMIT))).get(AtomicBatches.BATCH_COMMIT))
                .containsExactly("1");
        assertThat(parsed(written(wire(transaction, ID))).get(MSG_ID_HDR)).containsExactly(ID);
    }

    @Test
    void refusesAMessageIdJnatsWouldRefuseNamingTheHeader() {
        Headers transaction = transaction(Map.of());
        for (String bad : List.of("a\rb", "a\nb", "caf\u00e9", "\u20ac")) {
            assertThatThrownBy(() -> new Headers().put(MSG_ID_HDR, bad)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> wire(transaction, bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(MSG_ID_HDR)
                    .hasMessageContaining("0x" + Integer.toHexString(bad.charAt(firstBad(bad))));
        }
        assertThatThrownBy(() -> wire(transaction, ID, AtomicBatches.BATCH_ID, "a\nb"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(AtomicBatches.BATCH_ID);
        for (String good : List.of("", "tab\there", "del\u007f", " !~")) {
            assertThat(parsed(written(wire(transaction, good)))).isEqualTo(parsed(written(plain(transaction, good))));
            assertThat(wire(transaction, good).getFirst(MSG_ID_HDR)).isEqualTo(good);
            assertThat(wire(transaction, good).serializedLength()).isEqualTo(plain(transaction, good).serializedLength());
        }
    }

    private static int firstBad(String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c > 127 || c == '\r' || c == '\n') {
                return i;
            }
        }
        return -1;
    }

    @Test
    void itsAccessorsAnswerAsAPlainHeadersOfTheSameEntries() {
        Headers transaction = transaction(Map.of("x-team", "identity"));
        Headers expected = plain(transaction, ID, SPLIT_COMMIT);
        WireHeaders wire = wire(transaction, ID, SPLIT_COMMIT);

        assertThat(wire.isReadOnly()).isTrue();
        assertThat(wire.isEmpty()).isFalse();
        assertThat(wire.size()).isEqualTo(expected.size()).isEqualTo(10);
        assertThat(wire.keySet()).isEqualTo(expected.keySet());
        assertThat(wire.keySetIgnoreCase()).isEqualTo(expected.keySetIgnoreCase());
        assertThat(wire.get(MSG_ID_HDR)).containsExactly(ID);
        assertThat(wire.getFirst(AtomicBatches.BATCH_SEQUENCE)).isEqualTo("1000");
        assertThat(wire.getLast("x-team")).isEqualTo("identity");
        assertThat(wire.getIgnoreCase("nats-msg-id")).containsExactly(ID);
        assertThat(wire.get("missing")).isNull();
        assertThat(wire.containsKey(StoredEvents.ORIGIN_HEADER)).isTrue();
        assertThat(wire.containsKey("missing")).isFalse();
        assertThat(wire.containsKeyIgnoreCase("deltaforge-origin")).isTrue();
        assertThat(wire.toMap()).isEqualTo(expected.toMap());
        assertThat(Set.copyOf(wire.entrySet())).isEqualTo(Set.copyOf(expected.entrySet()));
        Map<String, List<String>> each = new HashMap<>();
        wire.forEach(each::put);
        assertThat(each).isEqualTo(expected.toMap());
        assertThat(wire).isEqualTo(expected).isEqualTo(wire(transaction, ID, SPLIT_COMMIT))
                .isNotEqualTo(wire(transaction, "other", SPLIT_COMMIT)).isNotEqualTo(new Headers());
        assertThat(wire.hashCode()).isEqualTo(expected.hashCode());
        assertThat(wire.toString()).contains(MSG_ID_HDR + ":" + ID).contains("x-team:identity");
        assertThat(parsed(wire.getSerialized())).isEqualTo(expected);

        assertThatThrownBy(() -> wire.put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> wire.add("x", "y")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> wire.remove(MSG_ID_HDR)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(wire::clear).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> wire.get(MSG_ID_HDR).add("x")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void aMutableCopyIsCompleteAndLeavesOutTheGivenKeys() {
        Headers transaction = transaction(Map.of("x-team", "identity"));
        String[] batchKeys = {AtomicBatches.BATCH_ID, AtomicBatches.BATCH_SEQUENCE, AtomicBatches.BATCH_COMMIT};
        Headers expected = plain(transaction, ID, SPLIT_COMMIT);
        expected.remove(batchKeys);
        WireHeaders wire = wire(transaction, ID, SPLIT_COMMIT);

        // Why the copy needs a method of its own: jnats' copy constructor reads the (empty) private map.
        assertThat(new Headers(wire).isEmpty()).isTrue();

        for (Headers source : List.of(wire, plain(transaction, ID, SPLIT_COMMIT))) {
            Headers copy = WireHeaders.mutableCopy(source, batchKeys);
            assertThat(copy).isEqualTo(expected).isNotInstanceOf(WireHeaders.class);
            assertThat(copy.isReadOnly()).isFalse();
            assertThat(copy.serializedLength()).isEqualTo(expected.serializedLength());
            assertThat(copy.get(AtomicBatches.PART_HEADER)).containsExactly("2");
            copy.put("x-more", "1");
            assertThat(source.containsKey("x-more")).isFalse();
            assertThat(source.getFirst(AtomicBatches.BATCH_ID)).isEqualTo("pg@0/16B3748#2.1c");
        }
    }
}
