package io.deltaforge.nats.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.JetStreamApiException;
import io.nats.client.Message;
import io.nats.client.impl.NatsMessage;
import io.nats.client.support.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PubAcksTest {
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
        Message status = status(408, "Request Timeout");

        assertThat(PubAcks.read(status).failure()).isInstanceOf(IOException.class)
                .hasMessage("Error Publishing: 408 Request Timeout");
    }

    @Test
    void aNoRespondersStatusFailsAsPublishAsyncReportsIt() {
        // What nats-server sends to the reply subject when nothing subscribes to the subject (no stream).
        assertThat(PubAcks.read(status(503, "")).failure()).isInstanceOf(IOException.class)
                .hasMessage("Error Publishing: 503 No Responders Available For Request");
    }

    private static Message status(int code, String text) {
        return new NatsMessage("_INBOX.x", null, new byte[0]) {
            @Override
            public boolean isStatusMessage() {
                return true;
            }

            @Override
            public Status getStatus() {
                return new Status(code, text);
            }
        };
    }

    private static PubAcks.Outcome read(String json) {
        Message reply = new NatsMessage("_INBOX.x", null, json.getBytes(StandardCharsets.UTF_8));
        return PubAcks.read(reply);
    }
}
