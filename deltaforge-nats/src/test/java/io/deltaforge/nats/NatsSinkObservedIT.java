package io.deltaforge.nats;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudevents.CloudEvent;
import io.cloudevents.core.provider.EventFormatProvider;
import io.cloudevents.jackson.JsonFormat;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.RetryableException;
import io.deltaforge.envelopes.CloudEventsEnvelope;
import io.deltaforge.envelopes.DebeziumEnvelope;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Message;
import io.deltaforge.testkit.NatsServer;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.Headers;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What reaches the stream with real envelopes, and what the sink logs about its connection and stream. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@SuppressWarnings("try")
class NatsSinkObservedIT {
    private NatsServer nats;
    private NatsSink sink;
    private final Batches batches = new Batches();

    @BeforeEach
    void start() throws Exception {
        nats = NatsServer.start();
        try (Connection c = nats.connect()) {
            c.jetStreamManagement().addStream(StreamConfiguration.builder().name("USERS").subjects("users.>")
                    .storageType(StorageType.File).duplicateWindow(Duration.ofSeconds(60)).build());
        }
    }

    @AfterEach
    void stop() {
        if (sink != null) {
            sink.close();
        }
        nats.close();
    }

    @Test
    void eachEnvelopeGetsItsOwnContentTypeAndBinaryCloudEventsKeepTheirCeHeaders() throws Exception {
        sink = started(Duration.ofSeconds(5));
        Batch plain = batches.batch(3);
        Envelope structured = CloudEventsEnvelope.withTypePrefix("com.acme.users");
        Envelope binary = CloudEventsEnvelope.builder().typePrefix("com.acme.users")
                .mode(CloudEventsEnvelope.Mode.BINARY).build();
        Envelope debezium = DebeziumEnvelope.create();
        List<ChangeEvent> events = plain.events();
        Batch encoded = new Batch(plain.sequence(), events, List.of(structured.encode(events.get(0)),
                binary.encode(events.get(1)), debezium.encode(events.get(2))));

        sink.send(encoded).toCompletableFuture().get(60, TimeUnit.SECONDS);

        try (Connection c = nats.connect()) {
            JetStreamManagement jsm = c.jetStreamManagement();
            MessageInfo first = jsm.getMessage("USERS", 1);
            assertThat(first.getHeaders().getFirst("Content-Type")).isEqualTo("application/cloudevents+json");
            CloudEvent read = EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE)
                    .deserialize(first.getData());
            assertThat(read.getId()).isEqualTo(events.get(0).id())
                    .isEqualTo(first.getHeaders().getFirst("Nats-Msg-Id"));

            Headers second = jsm.getMessage("USERS", 2).getHeaders();
            assertThat(second.getFirst("Content-Type")).isEqualTo("application/json");
            assertThat(second.getFirst("ce-id")).isEqualTo(events.get(1).id()).isEqualTo(second.getFirst("Nats-Msg-Id"));
            assertThat(second.getFirst("ce-type")).isEqualTo("com.acme.users.created");
            assertThat(second.getFirst("ce-specversion")).isEqualTo("1.0");

            Headers third = jsm.getMessage("USERS", 3).getHeaders();
            assertThat(third.getFirst("Content-Type")).isEqualTo("application/json");
            assertThat(third.keySet()).noneMatch(k -> k.startsWith("ce-"));
        }
    }

    @Test
    void aShortDuplicateWindowIsWarnedAboutAndAConnectionLossAndItsRecoveryAreLoggedOnceEach() throws Exception {
        String log = captureStderr(() -> {
            // Twice the batch timeout (80 s) outlasts the stream's duplicate window (60 s).
            sink = started(Duration.ofSeconds(2), Duration.ofSeconds(40));
            sink.send(batches.batch(1)).toCompletableFuture().get(60, TimeUnit.SECONDS);
            nats.stop();
            Batch batch = batches.batch(2);
            for (int i = 0; i < 4; i++) {
                assertThat(failureOf(batch)).isInstanceOf(RetryableException.class);
            }
            nats.startAgain();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (true) {
                try {
                    sink.send(batch).toCompletableFuture().get(60, TimeUnit.SECONDS);
                    break;
                } catch (ExecutionException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    Thread.sleep(200);
                }
            }
        });
        assertThat(count(log, "duplicate window of PT1M, shorter than twice batch_timeout_secs (80 s)")).isEqualTo(1);
        assertThat(count(log, "lost the connection to")).isEqualTo(1);
        assertThat(count(log, "connected again to")).isEqualTo(1);
    }

    private NatsSink started(Duration sendTimeout) {
        return started(sendTimeout, sendTimeout.multipliedBy(2));
    }

    private NatsSink started(Duration sendTimeout, Duration batchTimeout) {
        NatsSink s = NatsSink.builder().id("users-nats").url(nats.url()).subject("users.events").stream("USERS")
                .sendTimeout(sendTimeout).batchTimeout(batchTimeout).build();
        s.start();
        return s;
    }

    private Throwable failureOf(Batch batch) throws Exception {
        try {
            sink.send(batch).toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("expected the send to fail while the server is down");
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    @FunctionalInterface
    private interface Body {
        void run() throws Exception;
    }

    /** slf4j-simple writes to the current System.err, so a swapped stream sees the sink's log lines. */
    private static String captureStderr(Body body) throws Exception {
        PrintStream original = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream tee = new PrintStream(out, true, StandardCharsets.UTF_8) {
            @Override
            public void write(byte[] buf, int off, int len) {
                super.write(buf, off, len);
                original.write(buf, off, len);
            }
        };
        System.setErr(tee);
        try {
            body.run();
        } finally {
            System.setErr(original);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
