package io.deltaforge.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Batch;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link NatsSink#storedSince}: what the engine may leave out of a replay because the stream holds it. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NatsSinkStoredIT {
    private static final TableId ORDERS = TableId.parse("public.orders");
    @RegisterExtension
    static final JetStreamServer nats = new JetStreamServer();
    private final List<NatsSink> sinks = new ArrayList<>();

    @BeforeEach
    void sharedStream() throws Exception {
        Streams.add(nats.jsm(), StreamConfiguration.builder().name("SHARED").subjects("shared.>")
                .storageType(StorageType.File).duplicateWindow(Duration.ofSeconds(5)).build());
    }

    @AfterEach
    void closeAll() throws Exception {
        sinks.forEach(NatsSink::close);
    }

    private NatsSink started(String id, String subject) {
        NatsSink sink = NatsSink.builder().id(id).url(nats.url()).subject(subject).stream("SHARED").build();
        sinks.add(sink);
        sink.start();
        return sink;
    }

    @Test
    void findsExactlyItsSourcesStoredEventsAcrossSubjectsOtherPipelinesAndAHole() throws Exception {
        NatsSink a = started("a-nats", "shared.a.{table}");
        NatsSink b = started("b-nats", "shared.b");
        Batches ofA = new Batches("a-postgres");
        Batches ofB = new Batches("b-postgres");
        Batch before = ofA.batch(2);
        Batch users = ofA.batch(3);
        Batch orders = ofA.batch(ORDERS, Op.UPDATE, 4, null);
        Batch withHole = ofA.batch(3);
        // The middle event of the last batch is missing, as when its publish failed and a later one was stored.
        Batch sentOfLast = new Batch(withHole.sequence(), List.of(withHole.events().get(0), withHole.events().get(2)),
                List.of(withHole.messages().get(0), withHole.messages().get(2)));

        await(a.send(before));
        await(a.send(users));
        await(b.send(ofB.batch(5)));
        await(a.send(orders));
        await(b.send(ofB.batch(5)));
        await(a.send(sentOfLast));

        List<String> expected = Stream.of(users, orders, sentOfLast).flatMap(batch -> batch.events().stream())
                .map(ChangeEvent::id).toList();
        assertThat(a.storedSince("a-postgres", users.events().get(0).position().commitLsn()))
                .containsExactlyInAnyOrderElementsOf(expected)
                .doesNotContain(withHole.events().get(1).id());
        assertThat(a.storedSince("c-postgres", users.events().get(0).position().commitLsn())).isEmpty();
    }

    @Test
    void readsBackThroughManyMessagesAndStopsAtTheFirstOlderOne() throws Exception {
        NatsSink sink = started("a-nats", "shared.a.{table}");
        Batches batches = new Batches("a-postgres");
        await(sink.send(batches.batch(3)));
        await(sink.send(batches.batch(1)));
        List<Batch> replayed = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            replayed.add(batches.batch(ORDERS, Op.CREATE, 1000, null));
            await(sink.send(replayed.get(i)));
        }

        assertThat(sink.storedSince("a-postgres", replayed.get(0).events().get(0).position().commitLsn()))
                .containsExactlyInAnyOrderElementsOf(replayed.stream().flatMap(b -> b.events().stream())
                        .map(ChangeEvent::id).toList());
    }

    @Test
    void aPurgedStreamHoldsNothingSoNothingIsSkipped() throws Exception {
        NatsSink sink = started("a-nats", "shared.a");
        Batch batch = new Batches("a-postgres").batch(10);
        await(sink.send(batch));
        assertThat(sink.storedSince("a-postgres", batch.events().get(0).position().commitLsn())).hasSize(10);

        nats.jsm().purgeStream("SHARED");

        assertThat(sink.storedSince("a-postgres", batch.events().get(0).position().commitLsn())).isEmpty();
    }

    @Test
    void aRecreatedStreamHoldsOnlyWhatWasPublishedSince() throws Exception {
        NatsSink sink = started("a-nats", "shared.a");
        Batches batches = new Batches("a-postgres");
        Batch old = batches.batch(4);
        await(sink.send(old));
        Streams.deleteAll(nats.server(), nats.jsm());
        Streams.add(nats.jsm(), StreamConfiguration.builder().name("SHARED").subjects("shared.>")
                .storageType(StorageType.File).duplicateWindow(Duration.ofSeconds(5)).build());
        Batch fresh = batches.batch(2);
        NatsSink again = started("a-nats-2", "shared.a");
        await(again.send(fresh));

        assertThat(again.storedSince("a-postgres", old.events().get(0).position().commitLsn()))
                .containsExactlyInAnyOrderElementsOf(fresh.events().stream().map(ChangeEvent::id).toList());
    }

    @Test
    void aStreamDeletedSinceHoldsNothingRatherThanFailingTheAnswer() throws Exception {
        NatsSink sink = started("a-nats", "shared.a");
        Batch sent = new Batches("a-postgres").batch(3);
        await(sink.send(sent));
        Streams.deleteAll(nats.server(), nats.jsm());

        assertThat(sink.storedSince("a-postgres", sent.events().get(0).position().commitLsn())).isEmpty();
    }

    @Test
    void afterTheServerWasDownTheAnswerComesOverAFreshConnection() throws Exception {
        NatsSink sink = started("a-nats", "shared.a");
        Batch sent = new Batches("a-postgres").batch(3);
        await(sink.send(sent));
        Lsn from = sent.events().get(0).position().commitLsn();

        nats.server().kill();
        try {
            assertThatThrownBy(() -> sink.storedSince("a-postgres", from)).isInstanceOf(RetryableException.class);
        } finally {
            nats.server().startAgain();
        }

        assertThat(sink.storedSince("a-postgres", from))
                .containsExactlyInAnyOrderElementsOf(sent.events().stream().map(ChangeEvent::id).toList());
    }

    @Test
    void askingBeforeStartFails() {
        NatsSink sink = NatsSink.builder().id("a-nats").url(nats.url()).subject("shared.a").stream("SHARED").build();
        sinks.add(sink);

        assertThatThrownBy(() -> sink.storedSince("a-postgres", Lsn.ZERO))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("before start()");
    }

    private static void await(java.util.concurrent.CompletionStage<Void> stage) throws Exception {
        stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
}
