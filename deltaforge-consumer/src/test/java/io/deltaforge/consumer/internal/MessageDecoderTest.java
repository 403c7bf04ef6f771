package io.deltaforge.consumer.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.consumer.ChangeMessage;
import io.deltaforge.consumer.ChangeOp;
import io.deltaforge.consumer.EnvelopeFormat;
import io.deltaforge.envelopes.CloudEventsEnvelope;
import io.deltaforge.envelopes.DebeziumEnvelope;
import io.deltaforge.envelopes.NativeEnvelope;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.TransactionMarker;
import io.nats.client.impl.Headers;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every built-in envelope, as the envelopes module writes it, decodes into the same change. */
class MessageDecoderTest {
    private static final Instant COMMIT = Instant.parse("2025-01-15T10:30:00.123Z");
    private static final ChangeEvent UPDATE = new ChangeEvent("evt-1", "users-postgres", Op.UPDATE,
            new TableId("public", "users"), Row.of(List.of("id"), 7),
            Row.of(List.of("id", "name"), 7, "Zoë \"Z\" 100%"),
            new SourcePosition(new Lsn(0x16B3790L), new Lsn(0x16B3748L), 3, 740, COMMIT), 0, List.of(), null,
            List.of("id"));

    private final MessageDecoder decoder = new MessageDecoder();

    @Test
    void decodesCloudEventsStructured() {
        ChangeMessage m = decode(CloudEventsEnvelope.withTypePrefix("com.acme"));
        assertThat(m.format()).isEqualTo(EnvelopeFormat.CLOUDEVENTS_STRUCTURED);
        assertCommon(m);
        assertThat(m.key().asText()).isEqualTo("7");
        assertThat(m.commitLsn()).isEqualTo("0/16B3790");
        assertThat(m.indexInTransaction()).isEqualTo(3);
        assertThat(m.sequence()).isEqualTo("00000000016B3790-0000000003");
        assertThat(m.commitTime()).isEqualTo(COMMIT);
    }

    @Test
    void decodesCloudEventsBinaryWithPercentEncodedHeaders() {
        ChangeMessage m = decode(CloudEventsEnvelope.builder().typePrefix("com.acme")
                .mode(CloudEventsEnvelope.Mode.BINARY).extension("note", "a \"b\" 100% ü").build());
        assertThat(m.format()).isEqualTo(EnvelopeFormat.CLOUDEVENTS_BINARY);
        assertCommon(m);
        assertThat(m.sequence()).isEqualTo("00000000016B3790-0000000003");
        assertThat(m.commitTime()).isEqualTo(COMMIT);
    }

    @Test
    void decodesNative() {
        ChangeMessage m = decode(NativeEnvelope.create());
        assertThat(m.format()).isEqualTo(EnvelopeFormat.NATIVE);
        assertCommon(m);
        assertThat(m.indexInTransaction()).isEqualTo(3);
        assertThat(m.commitTime()).isEqualTo(COMMIT.truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
    }

    @Test
    void decodesDebeziumWithAndWithoutSchemaWrapper() {
        for (boolean wrapped : new boolean[] {false, true}) {
            ChangeMessage m = decode(DebeziumEnvelope.builder().schemaWrapper(wrapped).build());
            assertThat(m.format()).isEqualTo(EnvelopeFormat.DEBEZIUM);
            assertCommon(m);
            assertThat(m.commitLsn()).isNull();
        }
    }

    @Test
    void percentDecodingUndoesTheNatsBinding() {
        assertThat(MessageDecoder.percentDecode("a%20%22b%22%25%C3%BC")).isEqualTo("a \"b\"%ü");
        assertThat(MessageDecoder.percentDecode("plain%2")).isEqualTo("plain%2");
    }

    @Test
    void rejectsWhatNoEnvelopeWrote() {
        assertThatThrownBy(() -> decoder.decode(null, "{\"hello\":1}".getBytes(StandardCharsets.UTF_8), "s", 1, 1))
                .hasMessageContaining("not a DeltaForge event");
        assertThatThrownBy(() -> decoder.decode(null, "not json".getBytes(StandardCharsets.UTF_8), "s", 1, 1))
                .hasMessageContaining("not JSON");
    }

    @Test
    void recognisesDebeziumTransactionMarkersInBothFormsAndNothingElse() {
        TransactionMarker end = new TransactionMarker(TransactionMarker.Kind.END, "pg", 740, new Lsn(200),
                new Lsn(248), COMMIT, null, 1, Map.of(new TableId("public", "users"), 1L));
        TransactionMarker begin = new TransactionMarker(TransactionMarker.Kind.BEGIN, "pg", 740, new Lsn(200),
                new Lsn(150), COMMIT, null, 0, Map.of());
        for (boolean schemas : List.of(false, true)) {
            DebeziumEnvelope envelope = DebeziumEnvelope.builder().provideTransactionMetadata(true)
                    .schemasEnable(schemas).build();
            assertThat(decoder.transactionMarker(envelope.transactionMarker(end).payload()))
                    .isEqualTo(new MessageDecoder.TransactionMarker(true, "740"));
            assertThat(decoder.transactionMarker(envelope.transactionMarker(begin).payload()))
                    .isEqualTo(new MessageDecoder.TransactionMarker(false, "740"));
            assertThat(decoder.transactionMarker(envelope.encode(UPDATE).payload())).isNull();
        }
        assertThat(decoder.transactionMarker("not json".getBytes(StandardCharsets.UTF_8))).isNull();
        assertThat(decoder.transactionMarker("{\"status\":\"END\"}".getBytes(StandardCharsets.UTF_8))).isNull();
    }

    private static void assertCommon(ChangeMessage m) {
        assertThat(m.eventId()).isEqualTo("evt-1");
        assertThat(m.op()).isEqualTo(ChangeOp.UPDATE);
        assertThat(m.qualifiedTable()).isEqualTo("public.users");
        assertThat(m.before().get("id").asInt()).isEqualTo(7);
        assertThat(m.after().get("name").asText()).isEqualTo("Zoë \"Z\" 100%");
        assertThat(m.lsn()).isEqualTo("0/16B3748");
        assertThat(m.transactionId()).isEqualTo("740");
        assertThat(m.subject()).isEqualTo("users.events");
        assertThat(m.streamSequence()).isEqualTo(42);
    }

    private ChangeMessage decode(Envelope envelope) {
        Message message = envelope.encode(UPDATE);
        Headers headers = new Headers();
        message.headers().forEach(headers::put);
        headers.put("Content-Type", message.contentType());
        headers.put("Nats-Msg-Id", message.id());
        return decoder.decode(headers, message.payload(), "users.events", 42, 1);
    }
}
