package io.deltaforge.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Op;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Batch;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.PersistMode;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Subject templates, stream creation and checks, the byte window and the dead-letter subject. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@SuppressWarnings("try")
class NatsSinkStreamsIT {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    @RegisterExtension
    static final JetStreamServer nats = new JetStreamServer();
    private final List<NatsSink> sinks = new ArrayList<>();
    private final Batches batches = new Batches();

    @AfterEach
    void closeAll() throws Exception {
        sinks.forEach(NatsSink::close);
    }

    @Test
    void subjectTemplateRoutesEachEventByTableOpAndTenant() throws Exception {
        addStream("USERS", "acme.>");
        NatsSink sink = started(builder("acme.{tenant}.{schema}.{table}.{op}").tenant("acme"));
        Batch users = batches.batch(Batches.USERS, Op.CREATE, 2, null);
        Batch odd = batches.batch(new TableId("my schema", "a.b*c"), Op.DELETE, 1, null);

        await(sink.send(users));
        await(sink.send(odd));

        assertThat(subjectOf(1)).isEqualTo("acme.acme.public.users.c");
        assertThat(subjectOf(2)).isEqualTo("acme.acme.public.users.c");
        // Dots, wildcards and spaces in names cannot break the subject's tokens.
        assertThat(subjectOf(3)).isEqualTo("acme.acme.my_schema.a_b_c.d");
    }

    @Test
    void startFailsWhenTheStreamDoesNotCaptureEverySubjectTheTemplateCanProduce() throws Exception {
        addStream("USERS", "users.events.users", "users.events.profiles");
        NatsSink sink = sink(builder("users.events.{table}"));
        assertThatThrownBy(sink::start).isInstanceOf(DeltaforgeException.class)
                .isNotInstanceOf(RetryableException.class)
                .hasMessageContaining("does not capture subject template 'users.events.{table}'")
                .hasMessageContaining("'users.events.*'");

        nats.jsm().deleteStream("USERS");
        addStream("USERS", "users.events.*");
        started(builder("users.events.{table}"));
    }

    @Test
    void createStreamMakesAMissingStreamFromTheTemplate() throws Exception {
        NatsSink sink = started(builder("users.events.{table}").createStream(true)
                .streamStorage("memory").streamMaxAge(Duration.ofHours(1)).streamDuplicateWindow(Duration.ofMinutes(5)));
        await(sink.send(batches.batch(3)));

        StreamConfiguration config = nats.jsm().getStreamInfo("USERS").getConfiguration();
        assertThat(config.getSubjects()).containsExactly("users.events.*");
        assertThat(config.getStorageType()).isEqualTo(StorageType.Memory);
        assertThat(config.getMaxAge()).isEqualTo(Duration.ofHours(1));
        assertThat(config.getDuplicateWindow()).isEqualTo(Duration.ofMinutes(5));
        assertThat(config.getReplicas()).isEqualTo(1);
        assertThat(nats.jsm().getStreamInfo("USERS").getStreamState().getMsgCount()).isEqualTo(3);
    }

    @Test
    void anExistingStreamThatDiffersFromStreamConfigIsReportedAndLeftAlone() throws Exception {
        addStream("USERS", "users.>");
        NatsSink sink = sink(builder("users.events").createStream(true).streamStorage("memory").streamReplicas(1)
                .streamSubjects(List.of("users.>")));
        assertThatThrownBy(sink::start).isInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("stream 'USERS' exists with storage file (configured memory)")
                .hasMessageContaining("never changes an existing stream")
                .hasMessageNotContaining("replicas").hasMessageNotContaining("subjects");
        assertThat(nats.jsm().getStreamInfo("USERS").getConfiguration().getStorageType()).isEqualTo(StorageType.File);
    }

    @Test
    void aStreamThatMayAcknowledgeBeforeWritingIsNamedByTheCheckAndStillUsed() throws Exception {
        Streams.add(nats.jsm(), StreamConfiguration.builder().name("USERS").subjects("users.>")
                .storageType(StorageType.File).persistMode(PersistMode.Async).build());
        assumeTrue(nats.jsm().getStreamInfo("USERS").getConfiguration().getPersistMode() == PersistMode.Async,
                "nats-server " + nats.admin().getServerInfo().getVersion() + " has no persist_mode (needs 2.12+)");
        NatsSink async = sink(builder("users.events"));
        assertThat(async.check()).anySatisfy(note -> assertThat(note).contains("users-nats")
                .contains("stream 'USERS' uses persist_mode: async")
                .contains("use a stream with persist_mode: default"));

        async.start();
        await(async.send(batches.batch(2)));
        assertThat(nats.jsm().getStreamInfo("USERS").getStreamState().getMsgCount()).isEqualTo(2);

        nats.jsm().deleteStream("USERS");
        addStream("USERS", "users.>");
        assertThat(sink(builder("users.events")).check())
                .noneSatisfy(note -> assertThat(note).contains("persist_mode"));
    }

    @Test
    void theByteWindowHoldsBackPublishesButEveryMessageArrives() throws Exception {
        addStream("USERS", "users.>");
        NatsSink sink = started(builder("users.events").maxInFlightBytes(4096));
        byte[] payload = new byte[1500];

        await(sink.send(batches.batch(Batches.USERS, Op.CREATE, 200, payload)));

        assertThat(nats.jsm().getStreamInfo("USERS").getStreamState().getMsgCount()).isEqualTo(200);
        assertThat(sink.bytesInFlight()).isZero();
    }

    @Test
    void anOversizedEventGoesToTheDeadLetterSubjectAsMetadataInItsPlace() throws Exception {
        Streams.add(nats.jsm(), StreamConfiguration.builder().name("USERS").subjects("users.>")
                .storageType(StorageType.File).maximumMessageSize(2048).build());
        NatsSink sink = started(builder("users.events").deadLetterSubject("users.dead"));
        Batch batch = batches.batch(Batches.USERS, Op.UPDATE, 1, new byte[8192]);
        ChangeEvent event = batch.events().get(0);

        await(sink.send(batch));
        await(sink.send(batches.batch(1)));

        MessageInfo dead = nats.jsm().getMessage("USERS", 1);
        assertThat(dead.getSubject()).isEqualTo("users.dead");
        assertThat(dead.getHeaders().getFirst("Nats-Msg-Id")).isEqualTo(event.id());
        JsonNode record = MAPPER.readTree(dead.getData());
        assertThat(record.get("id").asText()).isEqualTo(event.id());
        assertThat(record.get("table").asText()).isEqualTo("public.users");
        assertThat(record.get("op").asText()).isEqualTo("u");
        assertThat(record.get("lsn").asText()).isEqualTo(event.position().lsn().toString());
        assertThat(record.get("subject").asText()).isEqualTo("users.events");
        assertThat(record.get("size").asInt()).isGreaterThan(8192);
        assertThat(record.get("limit").asInt()).isEqualTo(2048);
        assertThat(subjectOf(2)).isEqualTo("users.events");
        assertThat(sink.deadLettered()).isEqualTo(1);
    }

    @Test
    void aDeadLetterSubjectNoStreamCapturesIsCaughtAtStart() throws Exception {
        addStream("USERS", "users.events");
        NatsSink sink = sink(builder("users.events").deadLetterSubject("elsewhere.dead"));
        assertThatThrownBy(sink::start).isInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("no stream captures dead_letter_subject 'elsewhere.dead'");
    }

    @Test
    void anEventLargerThanTheServerMaxPayloadFailsNamingTableAndLsn() throws Exception {
        addStream("USERS", "users.>");
        NatsSink sink = started(builder("users.events"));
        int maxPayload = (int) nats.admin().getServerInfo().getMaxPayload();
        Batch batch = batches.batch(Batches.USERS, Op.CREATE, 1, new byte[maxPayload + 1]);

        Throwable failure = failureOf(sink.send(batch));

        assertThat(failure).isInstanceOf(DeltaforgeException.class).isNotInstanceOf(RetryableException.class)
                .hasMessageContaining("public.users")
                .hasMessageContaining("LSN " + batch.events().get(0).position().lsn())
                .hasMessageContaining("server max_payload " + maxPayload)
                .hasMessageContaining("raise max_payload")
                .hasMessageContaining("dead_letter_subject");
    }

    // ---- helpers -------------------------------------------------------------------------------------

    private void addStream(String name, String... subjects) throws Exception {
        Streams.add(nats.jsm(), StreamConfiguration.builder().name(name).subjects(subjects)
                .storageType(StorageType.File).duplicateWindow(Duration.ofMinutes(2)).build());
    }

    private String subjectOf(long seq) throws Exception {
        return nats.jsm().getMessage("USERS", seq).getSubject();
    }

    private NatsSink.Builder builder(String subject) {
        return NatsSink.builder().id("users-nats").url(nats.url()).subject(subject).stream("USERS");
    }

    private NatsSink sink(NatsSink.Builder builder) {
        NatsSink sink = builder.build();
        sinks.add(sink);
        return sink;
    }

    private NatsSink started(NatsSink.Builder builder) {
        NatsSink sink = sink(builder);
        sink.start();
        return sink;
    }

    private static void await(CompletionStage<Void> stage) throws Exception {
        stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    private static Throwable failureOf(CompletionStage<Void> stage) throws Exception {
        try {
            stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("the batch was expected to fail but was delivered");
    }
}
