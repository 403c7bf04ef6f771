package io.deltaforge.nats.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.nats.client.JetStreamApiException;
import io.nats.client.api.StreamInfo;
import io.nats.client.support.JsonParser;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class FailuresTest {
    private static final ChangeEvent EVENT = new ChangeEvent("ev-1", "src", Op.CREATE, TableId.parse("public.users"),
            null, null, new SourcePosition(new Lsn(1), new Lsn(1), 0, 1, Instant.EPOCH));

    private static DeltaforgeException classify(Throwable t) {
        return Failures.classify("users-nats", "USERS", "users.events", Duration.ofSeconds(5),
                "stream max_msg_size 1024 bytes", EVENT, 4096, new CompletionException(t));
    }

    private static JetStreamApiException apiError(int code, int errCode, String description) throws Exception {
        return new JetStreamApiException(new StreamInfo(JsonParser.parse("{\"error\":{\"code\":" + code
                + ",\"err_code\":" + errCode + ",\"description\":\"" + description + "\"}}")).getErrorObject());
    }

    @Test
    void aMissingAckIsRetryable() {
        assertThat(classify(new TimeoutException())).isInstanceOf(RetryableException.class)
                .hasMessageContaining("no acknowledgement within 5000 ms");
    }

    @Test
    void aRefusalWhileReconnectingIsRetryable() {
        assertThat(classify(new IllegalStateException("Unable to queue any more messages during reconnect")))
                .isInstanceOf(RetryableException.class).hasMessageContaining("connection is not usable");
    }

    @Test
    void noRespondersIsRetryableButHintsAtTheStream() {
        assertThat(classify(new RuntimeException(new IOException("Error Publishing: 503 No Responders"))))
                .isInstanceOf(RetryableException.class).hasMessageContaining("still exists");
    }

    @Test
    void aMessageTooBigFailsForGoodNamingEventTableAndLimit() throws Exception {
        DeltaforgeException e = classify(new RuntimeException(apiError(400, 10054,
                "message size exceeds maximum allowed")));
        assertThat(e).isNotInstanceOf(RetryableException.class)
                .hasMessageContaining("event ev-1 of public.users")
                .hasMessageContaining("4096 bytes")
                .hasMessageContaining("max_msg_size 1024 bytes");
    }

    @Test
    void aPayloadOverTheServerMaxPayloadFailsForGood() {
        assertThat(classify(new IllegalArgumentException("Message payload size exceed server configuration 4096 vs 1024")))
                .isNotInstanceOf(RetryableException.class).hasMessageContaining("max_payload");
    }

    @Test
    void serverSideTroubleIsRetryableAndBadRequestsAreNot() throws Exception {
        assertThat(classify(new RuntimeException(apiError(500, 10077, "maximum bytes exceeded"))))
                .isInstanceOf(RetryableException.class);
        assertThat(classify(new RuntimeException(apiError(400, 10060, "expected stream does not match"))))
                .isNotInstanceOf(RetryableException.class).hasMessageContaining("another stream");
    }
}
