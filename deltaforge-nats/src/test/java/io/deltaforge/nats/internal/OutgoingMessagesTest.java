package io.deltaforge.nats.internal;

import static io.nats.client.support.NatsJetStreamConstants.EXPECTED_STREAM_HDR;
import static io.nats.client.support.NatsJetStreamConstants.MSG_ID_HDR;
import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.nats.AtomicTransactions;
import io.deltaforge.spi.Message;
import io.nats.client.impl.Headers;
import io.nats.client.support.IncomingHeadersProcessor;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class OutgoingMessagesTest {
    private static final String JSON = "application/json";
    private static final String CLOUD_EVENTS = "application/cloudevents+json";
    private static final String[] COMMIT = {AtomicBatches.BATCH_ID, "pg@0/64.1", AtomicBatches.BATCH_SEQUENCE, "2",
            AtomicBatches.BATCH_COMMIT, "1"};

    private final OutgoingMessages outgoing;

    OutgoingMessagesTest() {
        List<String> problems = new ArrayList<>();
        NatsSinkSettings settings = new NatsSinkSettings("s", List.of("nats://localhost:4222"),
                SubjectTemplate.parse("cdc.{table}", null, problems), "orders", Duration.ofSeconds(5),
                Duration.ofSeconds(30), 100, 1 << 20, false, NatsSinkSettings.StreamSpec.DEFAULT,
                NatsSinkSettings.Auth.NONE, null, Map.of("x-team", "identity"), null, Duration.ofMinutes(2),
                AtomicTransactions.AUTO, true, "cdc.tx");
        assertThat(problems).isEmpty();
        outgoing = new OutgoingMessages(settings, "sink s", new DeadLetters(settings, "sink s"), new SizeLimits());
    }

    private static ChangeEvent event(long commit, int index) {
        Lsn lsn = new Lsn(commit);
        return new ChangeEvent(EventIds.forChange("pg", lsn, index), "pg", Op.CREATE, TableId.parse("public.t"),
                null, Row.of(List.of("id"), (long) index), new SourcePosition(lsn, lsn, index, 1, Instant.EPOCH));
    }

    private OutgoingMessages.Outgoing build(ChangeEvent event, Message message, String... batch) {
        OutgoingMessages.Outgoing out = outgoing.build(event, message, batch, new CompletableFuture<>());
        assertThat(out).isNotNull();
        return out;
    }

    /** The headers the sink sends, as jnats' own Headers would hold them. */
    private static Headers expected(ChangeEvent event, Message message, String... batch) {
        Headers headers = new Headers();
        headers.put("x-team", "identity");
        message.headers().forEach(headers::put);
        headers.put(OutgoingMessages.CONTENT_TYPE, message.contentType());
        headers.put(EXPECTED_STREAM_HDR, "orders");
        headers.put(StoredEvents.ORIGIN_HEADER, "pg@" + event.position().commitLsn());
        headers.put(MSG_ID_HDR, message.id());
        for (int i = 0; i < batch.length; i += 2) {
            headers.put(batch[i], batch[i + 1]);
        }
        return headers;
    }

    private static Headers sent(OutgoingMessages.Outgoing out) {
        byte[] wire = new byte[out.headers().serializedLength()];
        assertThat(out.headers().serializeToArray(0, wire)).isEqualTo(wire.length);
        return new IncomingHeadersProcessor(wire).getHeaders();
    }

    @Test
    void eachMessageOfEitherPathCarriesItsTransactionsHeadersAndItsOwn() {
        List<ChangeEvent> events = List.of(event(100, 0), event(100, 1), event(200, 0), event(200, 1), event(300, 0));
        List<Message> messages = List.of(
                new Message(events.get(0).id(), Map.of(), JSON, new byte[3]),
                new Message(events.get(1).id(), Map.of(), JSON, new byte[4]),
                new Message(events.get(2).id(), Map.of(), JSON, new byte[5]),
                new Message(events.get(3).id(), Map.of("ce-type", "created"), CLOUD_EVENTS, new byte[6]),
                new Message(events.get(4).id(), Map.of(), CLOUD_EVENTS, new byte[7]));
        String[][] batches = {OutgoingMessages.NO_BATCH, COMMIT, OutgoingMessages.NO_BATCH, COMMIT,
                OutgoingMessages.NO_BATCH};

        for (int i = 0; i < events.size(); i++) {
            OutgoingMessages.Outgoing out = build(events.get(i), messages.get(i), batches[i]);
            Headers expected = expected(events.get(i), messages.get(i), batches[i]);

            assertThat(sent(out)).as("message %d", i).isEqualTo(expected);
            assertThat(out.headers()).as("message %d", i).isEqualTo(expected);
            assertThat(out.headers().isReadOnly() || i == 3).isTrue();
            assertThat(out.size()).isEqualTo(messages.get(i).payload().length + expected.serializedLength());
            assertThat(out.subject()).isEqualTo("cdc.t");
        }
    }
}
