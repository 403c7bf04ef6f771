package io.deltaforge.nats.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.JetStreamApiException;
import io.nats.client.Message;
import io.nats.client.impl.NatsMessage;
import io.nats.client.support.NatsRequestCompletableFuture;
import io.nats.client.support.NatsRequestCompletableFuture.CancelAction;
import io.nats.client.support.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class PubAcksTest {
    private static final CompletableFuture<Message> ANSWERED = new CompletableFuture<>();

    @Test
    void aStoredPubAckIsStoredAndNotADuplicate() {
        PubAcks.Outcome outcome = read("{\"stream\":\"USERS\",\"seq\":42}");

        assertThat(outcome.failure()).isNull();
        assertThat(outcome.duplicate()).isFalse();
    }

    @Test
    void aDuplicatePubAckIsStoredAsADuplicate() {
        // As nats-server 2.15 and 2.9 write them.
        PubAcks.Outcome outcome = read("{\"stream\":\"USERS\",\"seq\":42,\"duplicate\": true}");
        PubAcks.Outcome older = read("{\"stream\":\"USERS\", \"seq\":42,\"duplicate\": true}");

        assertThat(outcome.failure()).isNull();
        assertThat(outcome.duplicate()).isTrue();
        assertThat(older.failure()).isNull();
        assertThat(older.duplicate()).isTrue();
        assertThat(read("{\"stream\":\"USERS\",\"seq\":42,\"duplicate\":false}").duplicate()).isFalse();
    }

    @Test
    void anotherShapeIsReadByJnatsPublishAck() {
        assertThat(read("{\"domain\":\"hub\",\"stream\":\"USERS\",\"seq\":7,\"duplicate\":true}").duplicate()).isTrue();
        assertThat(read("{\"stream\":\"USERS\"}").failure()).isInstanceOf(IOException.class)
                .hasMessageContaining("Invalid JetStream ack");
    }

    @Test
    void anErrorReplyFailsWithTheApiErrorAsPublishAsyncDid() {
        PubAcks.Outcome outcome = read("{\"error\":{\"code\":400,\"err_code\":10060,"
                + "\"description\":\"expected stream does not match\"},\"stream\":\"USERS\",\"seq\":0}");

        assertThat(outcome.failure()).isInstanceOf(JetStreamApiException.class);
        assertThat(((JetStreamApiException) outcome.failure()).getApiErrorCode()).isEqualTo(Failures.STREAM_NOT_MATCH);
    }

    @Test
    void aStatusReplyFailsWithItsCode() {
        Message status = new NatsMessage("_INBOX.x", null, new byte[0]) {
            @Override
            public boolean isStatusMessage() {
                return true;
            }

            @Override
            public Status getStatus() {
                return new Status(408, "Request Timeout");
            }
        };

        assertThat(PubAcks.read(ANSWERED, status, null).failure()).isInstanceOf(IOException.class)
                .hasMessage("Error Publishing: 408 Request Timeout");
    }

    @Test
    void aRequestCancelledForNoRespondersFailsAsA503() {
        NatsRequestCompletableFuture request = request();
        request.cancel(true);

        assertThat(PubAcks.read(request, null, new CancellationException()).failure()).isInstanceOf(IOException.class)
                .hasMessageContaining("503");
    }

    @Test
    void aTimeoutOrAClosingConnectionStaysWhatItWas() {
        NatsRequestCompletableFuture timedOut = request();
        timedOut.cancelTimedOut();
        NatsRequestCompletableFuture closing = request();
        closing.cancelClosing();
        TimeoutException timeout = new TimeoutException("t");
        CancellationException cancelled = new CancellationException("c");

        assertThat(PubAcks.read(timedOut, null, timeout).failure()).isSameAs(timeout);
        assertThat(PubAcks.read(closing, null, cancelled).failure()).isSameAs(cancelled);
    }

    private static NatsRequestCompletableFuture request() {
        return new NatsRequestCompletableFuture(CancelAction.CANCEL, Duration.ofSeconds(5), true);
    }

    private static PubAcks.Outcome read(String json) {
        Message reply = new NatsMessage("_INBOX.x", null, json.getBytes(StandardCharsets.UTF_8));
        return PubAcks.read(ANSWERED, reply, null);
    }
}
