package io.deltaforge.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Subscription;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.awaitility.Awaitility;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
@SuppressWarnings("try")
class NatsSinkIT {
    private static final TableId USERS = TableId.parse("public.users");
    private static final List<String> COLUMNS = List.of("id", "name");

    @RegisterExtension
    static final JetStreamServer nats = new JetStreamServer();
    private final List<NatsSink> sinks = new ArrayList<>();
    private long lsn = 1000;
    private long sequence;

    @BeforeEach
    void createStream() throws Exception {
        Streams.add(nats.jsm(), StreamConfiguration.builder().name("USERS").subjects("users.>")
                .storageType(StorageType.File).duplicateWindow(Duration.ofMinutes(2)).build());
    }

    @AfterEach
    void closeAll() throws Exception {
        sinks.forEach(NatsSink::close);
    }

    @Test
    void publishesEachEventWithItsIdAsNatsMsgIdAndItsContentType() throws Exception {
        NatsSink sink = started(NatsSink.builder().headers(Map.of("x-team", "identity")));
        Batch batch = batch(5);

        await(sink.send(batch));

        assertThat(nats.jsm().getStreamInfo("USERS").getStreamState().getMsgCount()).isEqualTo(5);
        for (int i = 0; i < 5; i++) {
            MessageInfo stored = nats.jsm().getMessage("USERS", i + 1);
            Message sent = batch.messages().get(i);
            assertThat(stored.getSubject()).isEqualTo("users.events");
            assertThat(stored.getHeaders().getFirst("Nats-Msg-Id")).isEqualTo(batch.events().get(i).id());
            assertThat(stored.getHeaders().getFirst("Content-Type")).isEqualTo("application/cloudevents+json");
            assertThat(stored.getHeaders().getFirst("ce-type")).isEqualTo("com.acme.users.created");
            assertThat(stored.getHeaders().getFirst("x-team")).isEqualTo("identity");
            assertThat(stored.getData()).isEqualTo(sent.payload());
        }
        assertThat(sink.published()).isEqualTo(5);
        assertThat(sink.duplicates()).isZero();
    }

    @Test
    void everyMessageOfATransactionCarriesItsOwnIdAndTheHeadersItShares() throws Exception {
        // Messages without headers of their own take the sink's shared header templates: one per transaction
        // with the origin, copied per message with its id. A template shared by mistake would repeat an id.
        NatsSink sink = started(NatsSink.builder().headers(Map.of("x-team", "identity")));
        Batch first = batch(4, Map.of());
        Batch second = batch(3, Map.of());
        List<ChangeEvent> events = new ArrayList<>(first.events());
        events.addAll(second.events());
        List<Message> messages = new ArrayList<>(first.messages());
        messages.addAll(second.messages());

        await(sink.send(new Batch(second.sequence(), events, messages)));

        assertThat(nats.jsm().getStreamInfo("USERS").getStreamState().getMsgCount()).isEqualTo(7);
        for (int i = 0; i < 7; i++) {
            ChangeEvent event = events.get(i);
            io.nats.client.impl.Headers stored = nats.jsm().getMessage("USERS", i + 1).getHeaders();
            assertThat(stored.get("Nats-Msg-Id")).as("message %d", i + 1).containsExactly(event.id());
            assertThat(stored.get("DeltaForge-Origin")).as("message %d", i + 1)
                    .containsExactly("users-postgres@" + event.position().commitLsn());
            assertThat(stored.get("Content-Type")).containsExactly("application/cloudevents+json");
            assertThat(stored.get("x-team")).containsExactly("identity");
            assertThat(stored.get("Nats-Expected-Stream")).containsExactly("USERS");
        }
        assertThat(sink.published()).isEqualTo(7);
        assertThat(sink.duplicates()).isZero();
    }

    @Test
    void aMessageWithItsOwnSubjectIsPublishedThereInsteadOfTheSinksSubject() throws Exception {
        NatsSink sink = started(NatsSink.builder());
        Batch batch = routed(batch(2), i -> i == 0 ? "users.outbox.order" : null);

        await(sink.send(batch));

        assertThat(nats.jsm().getMessage("USERS", 1).getSubject()).isEqualTo("users.outbox.order");
        assertThat(nats.jsm().getMessage("USERS", 2).getSubject()).isEqualTo("users.events");
    }

    @Test
    void aMessageRoutedToASubjectTheServerCannotTakeFailsTheBatchNamingTheSubject() throws Exception {
        NatsSink sink = started(NatsSink.builder());
        // The first one checks and remembers its subject; the third brings a bad one after it.
        Batch batch = routed(batch(3), i -> i == 2 ? "users.outbox big order" : "users.outbox.order");

        Throwable failure = failureOf(sink.send(batch));

        assertThat(failure).isInstanceOf(DeltaforgeException.class).isNotInstanceOf(RetryableException.class)
                .hasMessageContaining("event " + batch.events().get(2).id())
                .hasMessageContaining("'users.outbox big order' contains whitespace");
        // The two before it are stored; it never reached the socket, where the server would have refused
        // the line and closed the connection instead.
        Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(nats.jsm().getStreamInfo("USERS").getStreamState().getMsgCount()).isEqualTo(2));
    }

    @Test
    void sendingTheSameBatchTwiceStoresOneCopy() throws Exception {
        NatsSink sink = started(NatsSink.builder());
        Batch batch = batch(20);

        await(sink.send(batch));
        await(sink.send(batch));

        assertThat(nats.jsm().getStreamInfo("USERS").getStreamState().getMsgCount()).isEqualTo(20);
        assertThat(sink.duplicates()).isEqualTo(20);
        assertThat(sink.published()).isEqualTo(40);
    }

    @Test
    void startFailsNamingTheStreamWhenItDoesNotExist() throws Exception {
        nats.jsm().deleteStream("USERS");
        NatsSink sink = NatsSink.builder().id("users-nats").url(nats.url()).subject("users.events").stream("USERS")
                .build();
        sinks.add(sink);

        assertThatThrownBy(sink::start).isInstanceOf(DeltaforgeException.class)
                .isNotInstanceOf(RetryableException.class)
                .hasMessage("sink users-nats: stream 'USERS' does not exist; create it with subjects covering"
                        + " 'users.events' (e.g. nats stream add USERS --subjects 'users.>') or set create_stream: true");
    }

    @Test
    void startFailsWhenTheStreamDoesNotCaptureTheSubject() {
        NatsSink sink = NatsSink.builder().id("users-nats").url(nats.url()).subject("orders.events")
                .stream("USERS").build();
        sinks.add(sink);

        assertThatThrownBy(sink::start).isInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("stream 'USERS' does not capture subject 'orders.events'")
                .hasMessageContaining("[users.>]");
    }

    @Test
    void startFailsRetryablyWhenNoServerAnswers() {
        NatsSink sink = NatsSink.builder().url("nats://127.0.0.1:1").subject("users.events").stream("USERS")
                .build();
        sinks.add(sink);

        assertThatThrownBy(sink::start).isInstanceOf(RetryableException.class)
                .hasMessageContaining("cannot connect to NATS at [nats://127.0.0.1:1]");
    }

    @Test
    void aStoppedServerFailsTheBatchRetryablyAndAResendSucceedsAfterItReturns() throws Exception {
        NatsSink sink = started(NatsSink.builder().sendTimeout(Duration.ofSeconds(2))
                .batchTimeout(Duration.ofSeconds(4)));
        await(sink.send(batch(3)));
        Batch batch = batch(10);

        nats.server().stop();
        long t0 = System.nanoTime();
        Throwable failure = failureOf(sink.send(batch));
        assertThat(failure).isInstanceOf(RetryableException.class).hasMessageContaining("users-nats");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));

        nats.server().startAgain();
        resendUntilDelivered(sink, batch, Duration.ofSeconds(30));
        try (Connection c = nats.connect()) {
            assertThat(c.jetStreamManagement().getStreamInfo("USERS").getStreamState().getMsgCount()).isEqualTo(13);
        }
    }

    @Test
    void aServerStoppedMidBatchStillLeavesTheStreamInLogOrder() throws Exception {
        NatsSink sink = started(NatsSink.builder().sendTimeout(Duration.ofSeconds(2))
                .batchTimeout(Duration.ofSeconds(5)));
        List<Batch> batches = List.of(batch(3000), batch(3000), batch(3000));
        Thread stopper = new Thread(() -> {
            try {
                Thread.sleep(30);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            nats.server().stop();
        });

        stopper.start();
        List<CompletableFuture<Void>> stages = new ArrayList<>();
        for (Batch b : batches) {
            stages.add(sink.send(b).toCompletableFuture());
        }
        stopper.join();
        nats.server().startAgain();
        // What the engine does: resend the first batch that failed and every later one, in order.
        int firstFailed = batches.size();
        for (int i = 0; i < batches.size(); i++) {
            try {
                stages.get(i).get(60, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(RetryableException.class);
                firstFailed = Math.min(firstFailed, i);
            }
        }
        for (int i = firstFailed; i < batches.size(); i++) {
            resendUntilDelivered(sink, batches.get(i), Duration.ofSeconds(30));
        }

        try (Connection c = nats.connect()) {
            JetStreamManagement m = c.jetStreamManagement();
            long count = m.getStreamInfo("USERS").getStreamState().getMsgCount();
            assertThat(count).isEqualTo(9000);
            List<String> expected = new ArrayList<>();
            batches.forEach(b -> b.events().forEach(e -> expected.add(e.id())));
            for (long seq = 1; seq <= count; seq++) {
                assertThat(m.getMessage("USERS", seq).getHeaders().getFirst("Nats-Msg-Id"))
                        .as("message %d", seq).isEqualTo(expected.get((int) seq - 1));
            }
        }
    }

    @Test
    void aPublishThatIsNeverAcknowledgedFailsTheBatchRetryablyAfterTheSendTimeout() throws Exception {
        NatsSink sink = started(NatsSink.builder().sendTimeout(Duration.ofSeconds(1))
                .batchTimeout(Duration.ofSeconds(30)));
        try (Connection silent = nats.connect()) {
            standInForTheStream(silent);
            Batch batch = batch(5);
            long t0 = System.nanoTime();

            Throwable failure = failureOf(sink.send(batch));

            assertThat(failure).isInstanceOf(RetryableException.class)
                    .hasMessageContaining("public.users")
                    .hasMessageContaining("no acknowledgement within 1000 ms");
            assertThat(batch.events().stream().map(ChangeEvent::id)).anyMatch(id -> failure.getMessage().contains(id));
            // The send timeout decides, long before the batch timeout.
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
        }
    }

    @Test
    void aPublishWhoseReplyNeverComesGivesItsWindowPlacesBackAfterTheSendTimeout() throws Exception {
        NatsSink sink = started(NatsSink.builder().maxInFlight(2).sendTimeout(Duration.ofSeconds(1))
                .batchTimeout(Duration.ofSeconds(30)));
        try (Connection silent = nats.connect()) {
            standInForTheStream(silent);

            assertThat(failureOf(sink.send(batch(2)))).isInstanceOf(RetryableException.class)
                    .hasMessageContaining("no acknowledgement within 1000 ms");
            Awaitility.await("window given back").atMost(Duration.ofSeconds(20))
                    .until(() -> sink.bytesInFlight() == 0);
        }
        Streams.add(nats.jsm(), StreamConfiguration.builder().name("USERS").subjects("users.>")
                .storageType(StorageType.File).build());

        // With both places still taken this would wait for the whole batch timeout and fail.
        await(sink.send(batch(2)));
        assertThat(nats.jsm().getStreamInfo("USERS").getStreamState().getMsgCount()).isEqualTo(2);
    }

    @Test
    void aConnectionLostWhilePubAcksAreAwaitedFailsTheBatchRetryablyWithoutWaitingForTheTimeouts()
            throws Exception {
        NatsSink sink = started(NatsSink.builder().sendTimeout(Duration.ofSeconds(60))
                .batchTimeout(Duration.ofSeconds(120)));
        CompletionStage<Void> stage;
        try (Connection silent = nats.connect()) {
            standInForTheStream(silent);
            stage = sink.send(batch(3));
            Awaitility.await("published").atMost(Duration.ofSeconds(20)).until(() -> sink.bytesInFlight() > 0);
            long t0 = System.nanoTime();

            nats.server().stop();

            assertThat(failureOf(stage)).isInstanceOf(RetryableException.class).hasMessageContaining("users-nats");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
            // The batch fails with its first cancelled publish; the others give their places back right after.
            Awaitility.await("window given back").atMost(Duration.ofSeconds(5))
                    .until(() -> sink.bytesInFlight() == 0);
        }
    }

    @Test
    void closeWaitsForThePubAcksOfWhatWasSentBeforeClosingTheConnection() throws Exception {
        // Closing drains the connection, which unsubscribes the PubAck inbox: a PubAck still on its way would be
        // lost and a batch the stream stored would fail. Close first waits for the answers.
        NatsSink sink = started(NatsSink.builder().sendTimeout(Duration.ofSeconds(60))
                .batchTimeout(Duration.ofSeconds(120)));
        // The test answers the publishes in the stream's place once close waits.
        try (Connection stand = nats.connect()) {
            Subscription taken = standInForTheStream(stand);
            CompletionStage<Void> stage = sink.send(batch(3));
            List<io.nats.client.Message> publishes = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                publishes.add(taken.nextMessage(Duration.ofSeconds(10)));
            }
            Thread closer = new Thread(sink::close, "closer");
            closer.start();
            Awaitility.await("close waiting for the PubAcks").atMost(Duration.ofSeconds(10))
                    .until(() -> closer.getState() == Thread.State.TIMED_WAITING);

            for (int i = 0; i < publishes.size(); i++) {
                stand.publish(publishes.get(i).getReplyTo(),
                        ("{\"stream\":\"USERS\",\"seq\":" + (i + 1) + "}").getBytes(StandardCharsets.UTF_8));
            }
            stand.flush(Duration.ofSeconds(5));

            await(stage);
            closer.join(Duration.ofSeconds(10).toMillis());
            assertThat(closer.isAlive()).isFalse();
        }
    }

    @Test
    void aFullInFlightWindowBlocksSendButTheBatchStillCompletes() throws Exception {
        NatsSink sink = started(NatsSink.builder().maxInFlight(2));

        await(sink.send(batch(500)));
        await(sink.send(batch(500)));

        assertThat(nats.jsm().getStreamInfo("USERS").getStreamState().getMsgCount()).isEqualTo(1000);
    }

    @Test
    void aMessageTooBigForTheStreamFailsForGoodNamingTheEvent() throws Exception {
        nats.jsm().deleteStream("USERS");
        Streams.add(nats.jsm(), StreamConfiguration.builder().name("USERS").subjects("users.>")
                .storageType(StorageType.File).maximumMessageSize(1024).build());
        NatsSink sink = started(NatsSink.builder());
        Batch batch = batch(1, new byte[4096]);

        Throwable failure = failureOf(sink.send(batch));

        ChangeEvent event = batch.events().get(0);
        assertThat(failure).isInstanceOf(DeltaforgeException.class).isNotInstanceOf(RetryableException.class)
                .hasMessageContaining(event.id())
                .hasMessageContaining("public.users")
                .hasMessageContaining("LSN " + event.position().lsn())
                .hasMessageContaining("more than the 1024 bytes NATS accepts")
                .hasMessageContaining("max_msg_size 1024 bytes")
                .hasMessageContaining("dead_letter_subject");
        assertThat(nats.jsm().getStreamInfo("USERS").getStreamState().getMsgCount()).isZero();
    }

    @Test
    void aStreamDeletedAfterStartFailsForGoodOnceTheResendConfirmsIt() throws Exception {
        NatsSink sink = started(NatsSink.builder().sendTimeout(Duration.ofSeconds(2))
                .batchTimeout(Duration.ofSeconds(4)));
        nats.jsm().deleteStream("USERS");
        Batch batch = batch(1);

        Throwable first = failureOf(sink.send(batch));
        // nats-server answers the reply subject with a 503 status: nothing captures the subject.
        assertThat(first).isInstanceOf(RetryableException.class)
                .hasMessageContaining("no JetStream responder (Error Publishing: 503 No Responders Available For"
                        + " Request)");
        assertThat(sink.bytesInFlight()).isZero();
        Throwable second = failureOf(sink.send(batch));

        assertThat(second).isInstanceOf(DeltaforgeException.class).isNotInstanceOf(RetryableException.class)
                .hasMessageContaining("stream 'USERS' does not exist");
    }

    // ---- helpers -------------------------------------------------------------------------------------

    private NatsSink started(NatsSink.Builder builder) {
        NatsSink sink = builder.id("users-nats").url(nats.url()).subject("users.events").stream("USERS").build();
        sinks.add(sink);
        sink.start();
        return sink;
    }

    private Batch batch(int size) {
        return batch(size, (byte[]) null);
    }

    private Batch batch(int size, byte[] payload) {
        return batch(size, payload, Map.of("ce-type", "com.acme.users.created"));
    }

    private Batch batch(int size, Map<String, String> headers) {
        return batch(size, null, headers);
    }

    private Batch batch(int size, byte[] payload, Map<String, String> headers) {
        List<ChangeEvent> events = new ArrayList<>();
        List<Message> messages = new ArrayList<>();
        Lsn commit = new Lsn(lsn++);
        for (int i = 0; i < size; i++) {
            String id = EventIds.forChange("users-postgres", commit, i);
            events.add(new ChangeEvent(id, "users-postgres", Op.CREATE, USERS, null, Row.of(COLUMNS, (long) i, "n" + i),
                    new SourcePosition(commit, commit, i, 7, Instant.parse("2025-01-15T10:30:00Z"))));
            byte[] body = payload != null ? payload : ("{\"id\":\"" + id + "\"}").getBytes(StandardCharsets.UTF_8);
            messages.add(new Message(id, headers, "application/cloudevents+json", body));
        }
        return new Batch(++sequence, events, messages);
    }

    /**
     * The stream goes and a plain subscriber on {@code connection} takes the sink's publishes instead: a responder
     * (so no 503), but no PubAck unless the test sends one.
     */
    private static Subscription standInForTheStream(Connection connection) throws Exception {
        nats.jsm().deleteStream("USERS");
        Subscription taken = connection.subscribe("users.events");
        connection.flush(Duration.ofSeconds(5));
        return taken;
    }

    /** {@code plain} with each message routed to the subject {@code subjectOf} gives its index (null: the sink's). */
    private static Batch routed(Batch plain, IntFunction<@Nullable String> subjectOf) {
        List<Message> messages = new ArrayList<>();
        for (Message m : plain.messages()) {
            String subject = subjectOf.apply(messages.size());
            messages.add(new Message(m.id(), m.headers(), m.contentType(), m.payload(), subject));
        }
        return new Batch(plain.sequence(), plain.events(), messages);
    }

    private static void await(CompletionStage<Void> stage) throws Exception {
        stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    private static Throwable failureOf(CompletionStage<Void> stage) throws Exception {
        CompletableFuture<Void> f = stage.toCompletableFuture();
        try {
            f.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("the batch was expected to fail but was delivered");
    }

    /** What the engine does: resend the failed batch (with backoff) until it is delivered. */
    private static void resendUntilDelivered(NatsSink sink, Batch batch, Duration limit) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            try {
                await(sink.send(batch));
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof RetryableException) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(250);
            }
        }
    }
}
