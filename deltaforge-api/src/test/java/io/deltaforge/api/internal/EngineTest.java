package io.deltaforge.api.internal;

import static io.deltaforge.api.internal.Fakes.tx;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.SinkBinding;
import io.deltaforge.api.SnapshotRequest;
import io.deltaforge.api.internal.Fakes.FakeSink;
import io.deltaforge.api.internal.Fakes.FakeSource;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.CommitPolicy;
import io.deltaforge.spi.Heartbeat;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.SourceRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class EngineTest {
    private final FakeSource source = new FakeSource();
    private Pipeline pipeline;

    @AfterEach
    void tearDown() {
        if (pipeline != null) {
            pipeline.stop(Duration.ofSeconds(2));
        }
    }

    private Pipeline.Builder builder() {
        return Pipeline.builder().name("test").source(source).envelope(Fakes.TEXT)
                .retryBackoff(Duration.ofMillis(5), Duration.ofMillis(20));
    }

    @Test
    void aSnapshotRequestReachesTheSourceOnlyWhileThePipelineRuns() {
        pipeline = builder().sink(new FakeSink("a")).build();
        SnapshotRequest request = SnapshotRequest.of("public.t");
        assertThatThrownBy(() -> pipeline.snapshot(request)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("NEW");

        pipeline.start();
        pipeline.snapshot(request);
        pipeline.pause();
        pipeline.snapshot(request);

        assertThat(source.snapshots).containsExactly(request, request);
    }

    @Test
    void theSourceIsGivenThePipelinesMeterRegistry() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        pipeline = builder().sink(new FakeSink("a")).meterRegistry(registry).build();

        assertThat(source.metricsRegistry).isSameAs(registry);
    }

    @Test
    void acknowledgesCommitOnlyAfterSinkConfirms() {
        FakeSink sink = new FakeSink("a");
        CompletableFuture<Void> gate = new CompletableFuture<>();
        sink.behaviour = b -> gate;
        pipeline = builder().sink(sink).build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 3));

        await().atMost(5, TimeUnit.SECONDS).until(() -> !sink.sent.isEmpty());
        assertStays(Duration.ofMillis(100), () -> source.acknowledged.isEmpty());

        gate.complete(null);
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
    }

    @Test
    void eventsASinkHoldsAlreadyAreNotSentToItAndStillCountAsDelivered() {
        List<SourceRecord> replay = tx(1, 100, 3);
        String held = ((ChangeEvent) replay.get(1)).id();
        FakeSink holding = new FakeSink("holding") {
            @Override
            public Set<String> storedSince(String sourceId, Lsn commitLsn) {
                return Set.of(held);
            }
        };
        FakeSink failing = new FakeSink("failing") {
            @Override
            public Set<String> storedSince(String sourceId, Lsn commitLsn) {
                throw new UnsupportedOperationException("cannot read the destination");
            }
        };
        pipeline = builder().sink(holding).sink(failing).build();
        source.records.addAll(replay);
        pipeline.start();

        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        List<String> all = replay.stream().filter(r -> r instanceof ChangeEvent).map(r -> ((ChangeEvent) r).id())
                .toList();
        assertThat(holding.deliveredIds()).containsExactly(all.get(0), all.get(2));
        assertThat(failing.deliveredIds()).isEqualTo(all);
    }

    @Test
    void aSinkThatCannotSayYetWhatItHoldsIsAskedAgainBeforeAnythingIsSent() {
        List<SourceRecord> replay = tx(1, 100, 3);
        String held = ((ChangeEvent) replay.get(0)).id();
        AtomicInteger asked = new AtomicInteger();
        FakeSink downAtFirst = new FakeSink("down-at-first") {
            @Override
            public Set<String> storedSince(String sourceId, Lsn commitLsn) {
                if (asked.incrementAndGet() < 3) {
                    throw new RetryableException("destination unreachable");
                }
                return Set.of(held);
            }
        };
        pipeline = builder().sink(downAtFirst).build();
        source.records.addAll(replay);
        pipeline.start();

        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        assertThat(asked).hasValue(3);
        assertThat(downAtFirst.deliveredIds()).containsExactly(((ChangeEvent) replay.get(1)).id(),
                ((ChangeEvent) replay.get(2)).id());
    }

    @Test
    void aResendAfterASinkOutageLeavesOutWhatTheSinkStoredBeforeItFailed() {
        List<SourceRecord> records = tx(1, 100, 4);
        Set<String> store = ConcurrentHashMap.newKeySet();
        AtomicInteger storedSinceCalls = new AtomicInteger();
        FakeSink partlyStoring = new FakeSink("partly-storing") {
            @Override
            public Set<String> storedSince(String sourceId, Lsn commitLsn) {
                storedSinceCalls.incrementAndGet();
                return Set.copyOf(store);
            }
        };
        // The first send stores half the batch, then the connection drops: what a consumer would find
        // after an outage longer than the duplicate window.
        partlyStoring.behaviour = b -> {
            if (partlyStoring.sent.size() == 1) {
                b.messages().subList(0, 2).forEach(m -> store.add(m.id()));
                return CompletableFuture.failedFuture(new RetryableException("connection lost"));
            }
            b.messages().forEach(m -> assertThat(store.add(m.id())).as("stored twice: %s", m.id()).isTrue());
            return CompletableFuture.completedFuture(null);
        };
        pipeline = builder().sink(partlyStoring).build();
        source.records.addAll(records);
        pipeline.start();

        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        assertThat(storedSinceCalls).hasValue(2);
        assertThat(partlyStoring.sent.get(1).messages()).extracting(Message::id)
                .containsExactly(((ChangeEvent) records.get(2)).id(), ((ChangeEvent) records.get(3)).id());
        assertThat(store).hasSize(4);
    }

    @Test
    void aResendLeavesOutTheTransactionMarkersTheSinkStoredAndSendsTheOthers() {
        List<SourceRecord> records = tx(1, 100, 4);
        Set<String> store = ConcurrentHashMap.newKeySet();
        FakeSink partlyStoring = new FakeSink("partly-storing") {
            @Override
            public Set<String> storedSince(String sourceId, Lsn commitLsn) {
                return Set.copyOf(store);
            }
        };
        partlyStoring.behaviour = b -> {
            List<String> ids = new ArrayList<>();
            b.markers().stream().filter(m -> m.position() == 0).forEach(m -> ids.add(m.message().id()));
            b.messages().forEach(m -> ids.add(m.id()));
            b.markers().stream().filter(m -> m.position() > 0).forEach(m -> ids.add(m.message().id()));
            if (partlyStoring.sent.size() == 1) {
                // BEGIN and two events stored, then the connection drops.
                store.addAll(ids.subList(0, 3));
                return CompletableFuture.failedFuture(new RetryableException("connection lost"));
            }
            ids.forEach(id -> assertThat(store.add(id)).as("stored twice: %s", id).isTrue());
            return CompletableFuture.completedFuture(null);
        };
        pipeline = builder().sink(partlyStoring).envelope(Fakes.MARKING).build();
        source.records.addAll(records);
        pipeline.start();

        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        Batch resent = partlyStoring.sent.get(1);
        assertThat(resent.events()).extracting(ChangeEvent::id)
                .containsExactly(((ChangeEvent) records.get(2)).id(), ((ChangeEvent) records.get(3)).id());
        assertThat(resent.markers()).singleElement().satisfies(m -> {
            assertThat(m.marker().kind()).isEqualTo(io.deltaforge.spi.TransactionMarker.Kind.END);
            assertThat(m.position()).isEqualTo(2);
        });
        assertThat(store).hasSize(6);
    }

    @Test
    void aReplayOfATransactionTheSinkHoldsWholeWithItsMarkersSendsNothing() {
        List<SourceRecord> records = tx(1, 100, 2);
        Set<String> store = ConcurrentHashMap.newKeySet();
        FakeSink holdsAll = new FakeSink("holds-all") {
            @Override
            public Set<String> storedSince(String sourceId, Lsn commitLsn) {
                return Set.copyOf(store);
            }
        };
        store.add(io.deltaforge.api.EventIds.forTransactionMarker("src", new Lsn(100), true));
        store.add(io.deltaforge.api.EventIds.forTransactionMarker("src", new Lsn(100), false));
        records.stream().filter(r -> r instanceof ChangeEvent).forEach(r -> store.add(((ChangeEvent) r).id()));
        pipeline = builder().sink(holdsAll).envelope(Fakes.MARKING).build();
        source.records.addAll(records);
        pipeline.start();

        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        assertThat(holdsAll.sent).isEmpty();
    }

    @Test
    void keepsATransactionInOneBatch() {
        FakeSink sink = new FakeSink("a");
        pipeline = builder().sink(sink).batch(BatchConfig.defaults().withMaxEvents(5)).build();
        tx(1, 100, 3).forEach(source.records::add);
        tx(2, 200, 3).forEach(source.records::add);
        pipeline.start();

        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(201).equals(source.lastAck()));
        assertThat(sink.sent).extracting(Batch::size).containsExactly(3, 3);
    }

    @Test
    void splitsATransactionLargerThanABatchButAcknowledgesOnlyAtItsCommit() {
        FakeSink sink = new FakeSink("a");
        pipeline = builder().sink(sink).batch(BatchConfig.defaults().withMaxEvents(4)).build();
        var records = tx(1, 100, 10);
        pipeline.start();
        records.subList(0, 10).forEach(source.records::add);

        await().atMost(5, TimeUnit.SECONDS).until(() -> sink.sent.size() >= 2);
        assertStays(Duration.ofMillis(100), () -> source.acknowledged.isEmpty());

        source.records.add(records.get(10));
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        assertThat(sink.sent.stream().mapToInt(Batch::size).sum()).isEqualTo(10);
    }

    @Test
    void retriesAPassingFailureAndAcknowledgesOnlyAfterTheRetrySucceeds() {
        FakeSink sink = new FakeSink("a");
        AtomicInteger calls = new AtomicInteger();
        sink.behaviour = b -> calls.incrementAndGet() <= 3
                ? CompletableFuture.failedFuture(new RetryableException("server restarting"))
                : CompletableFuture.completedFuture(null);
        pipeline = builder().sink(sink).build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 2));

        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        assertThat(sink.sent).hasSize(4);
        assertThat(sink.sent).allSatisfy(b -> assertThat(b.size()).isEqualTo(2));
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.RUNNING);
    }

    @Test
    void afterARetryableFailureTheSinkGetsThatBatchAndEveryLaterOneAlreadySentAgainInOrderBeforeAnythingNew() {
        FakeSink sink = new FakeSink("a");
        CompletableFuture<Void> firstAttemptOfBatch1 = new CompletableFuture<>();
        AtomicInteger sends = new AtomicInteger();
        sink.behaviour = b -> sends.incrementAndGet() == 1 ? firstAttemptOfBatch1 : CompletableFuture.completedFuture(null);
        startAndSendOneBatchPerTransaction(sink, 3);
        // Batches 2 and 3 were stored before the hole that batch 1's failure leaves: they go again after it.
        firstAttemptOfBatch1.completeExceptionally(new RetryableException("connection lost"));
        await().atMost(5, TimeUnit.SECONDS).until(() -> sink.sent.size() == 6);
        source.records.addAll(tx(4, 400, 1));

        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(401).equals(source.lastAck()));
        assertThat(sequences(sink)).containsExactly(1L, 2L, 3L, 1L, 2L, 3L, 4L);
    }

    @Test
    void aReplayThatFailsAgainStartsOverFromTheBatchThatFailedAndIgnoresTheSupersededAnswers() {
        FakeSink sink = new FakeSink("a");
        List<CompletableFuture<Void>> answers = new CopyOnWriteArrayList<>();
        sink.behaviour = b -> {
            CompletableFuture<Void> answer = new CompletableFuture<>();
            answers.add(answer);
            return answer;
        };
        startAndSendOneBatchPerTransaction(sink, 3);
        answers.get(1).completeExceptionally(new RetryableException("batch 2 lost"));
        await().atMost(5, TimeUnit.SECONDS).until(() -> sink.sent.size() == 5);
        // The first sends of batches 2 and 3 were superseded by the replay: their late answers change nothing.
        answers.get(2).completeExceptionally(new RetryableException("late answer to a superseded send"));
        answers.get(0).completeExceptionally(new RetryableException("batch 1 lost"));
        await().atMost(5, TimeUnit.SECONDS).until(() -> sink.sent.size() == 8);
        sink.behaviour = b -> CompletableFuture.completedFuture(null);
        answers.subList(3, 8).forEach(a -> a.complete(null));

        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(301).equals(source.lastAck()));
        assertThat(sequences(sink)).containsExactly(1L, 2L, 3L, 2L, 3L, 1L, 2L, 3L);
    }

    @Test
    void theOnlySinksSmallBatchesAreSentByTheBatcherWhenNothingElseIsBeingSentAndBigOnesByTheSinksThread() {
        FakeSink sink = new FakeSink("a");
        List<String> senders = recordingSenders(sink);
        pipeline = builder().sink(sink).build();
        pipeline.start();
        // The first send asks the sink what it holds, which is the sink thread's job. Its answer acknowledges
        // before the thread gives the send turn back, so the next batch waits until the thread waits for work.
        source.records.addAll(tx(1, 100, 1));
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        await().atMost(5, TimeUnit.SECONDS).until(() -> waitingForWork("deltaforge-test-sink-a"));
        for (int i = 2; i <= 3; i++) {
            source.records.addAll(tx(i, i * 100L, 1));
            Lsn end = new Lsn(i * 100L + 1);
            await().atMost(5, TimeUnit.SECONDS).until(() -> end.equals(source.lastAck()));
        }
        source.records.addAll(tx(4, 400, SinkDriver.SUBMITTER_SENDS_UP_TO + 1));
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(401).equals(source.lastAck()));

        assertThat(senders).containsExactly("deltaforge-test-sink-a", "deltaforge-test-batcher",
                "deltaforge-test-batcher", "deltaforge-test-sink-a");
    }

    @Test
    void withTwoSinksEachIsSentToByItsOwnThreadSoThatOneCannotHoldUpTheOther() {
        FakeSink a = new FakeSink("a");
        FakeSink b = new FakeSink("b");
        List<String> sendersOfA = recordingSenders(a);
        List<String> sendersOfB = recordingSenders(b);
        pipeline = builder().sink(a).sink(b).build();
        pipeline.start();
        for (int i = 1; i <= 3; i++) {
            source.records.addAll(tx(i, i * 100L, 1));
            Lsn end = new Lsn(i * 100L + 1);
            await().atMost(5, TimeUnit.SECONDS).until(() -> end.equals(source.lastAck()));
        }

        assertThat(sendersOfA).containsOnly("deltaforge-test-sink-a").hasSize(3);
        assertThat(sendersOfB).containsOnly("deltaforge-test-sink-b").hasSize(3);
    }

    /** Whether the named thread waits (not blocked on a lock, not running): for the driver, nothing to send. */
    private static boolean waitingForWork(String threadName) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(threadName))
                .allMatch(t -> t.getState() == Thread.State.WAITING || t.getState() == Thread.State.TIMED_WAITING);
    }

    /** Makes the sink confirm at once and note the name of each thread that calls {@code send}. */
    private static List<String> recordingSenders(FakeSink sink) {
        List<String> senders = new CopyOnWriteArrayList<>();
        sink.behaviour = b -> {
            senders.add(Thread.currentThread().getName());
            return CompletableFuture.completedFuture(null);
        };
        return senders;
    }

    /** Transactions 1 to n, committing at 100, 200, ..., each its own batch, all sent without waiting. */
    private void startAndSendOneBatchPerTransaction(FakeSink sink, int n) {
        pipeline = builder().sink(sink).maxInFlightBatches(8).build();
        pipeline.start();
        for (int i = 1; i <= n; i++) {
            source.records.addAll(tx(i, i * 100L, 1));
            int expected = i;
            await().atMost(5, TimeUnit.SECONDS).until(() -> sink.sent.size() == expected);
        }
    }

    private static List<Long> sequences(FakeSink sink) {
        return sink.sent.stream().map(Batch::sequence).toList();
    }

    @Test
    void failsThePipelineOnAPermanentFailureOfARequiredSinkWithoutAcknowledgingIt() {
        FakeSink sink = new FakeSink("a");
        sink.behaviour = b -> b.events().get(0).position().xid() == 2
                ? CompletableFuture.failedFuture(new DeltaforgeException("message too large"))
                : CompletableFuture.completedFuture(null);
        pipeline = builder().sink(sink).build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 1));
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        source.records.addAll(tx(2, 200, 1));

        assertThatThrownBy(() -> pipeline.termination().toCompletableFuture().get(5, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasMessageContaining("sink 'a'")
                .hasMessageContaining("public.t")
                .hasMessageContaining("at LSN " + new Lsn(199))
                .hasMessageContaining("message too large");
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.FAILED);
        assertThat(source.acknowledged).containsExactly(new Lsn(101));
        await().atMost(5, TimeUnit.SECONDS).until(() -> source.closed && sink.closed);
    }

    @Test
    void skipsAPermanentFailureOfAnOptionalSink() {
        FakeSink main = new FakeSink("main");
        FakeSink audit = new FakeSink("audit");
        audit.behaviour = b -> CompletableFuture.failedFuture(new IllegalStateException("disk full"));
        pipeline = builder().sink(main).sink(SinkBinding.of(audit).withRequired(false)).build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 2));

        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.RUNNING);
    }

    @Test
    void waitsForEveryRequiredSink() {
        FakeSink fast = new FakeSink("fast");
        FakeSink slow = new FakeSink("slow");
        CompletableFuture<Void> gate = new CompletableFuture<>();
        slow.behaviour = b -> gate;
        pipeline = builder().sink(fast).sink(slow).build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 2));

        await().atMost(5, TimeUnit.SECONDS).until(() -> !fast.sent.isEmpty() && !slow.sent.isEmpty());
        assertStays(Duration.ofMillis(100), () -> source.acknowledged.isEmpty());
        gate.complete(null);
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
    }

    @Test
    void quorumCommitsOnceEnoughSinksConfirm() {
        FakeSink a = new FakeSink("a");
        FakeSink b = new FakeSink("b");
        FakeSink c = new FakeSink("c");
        c.behaviour = x -> new CompletableFuture<>();
        pipeline = builder()
                .sink(SinkBinding.of(a).withRequired(false))
                .sink(SinkBinding.of(b).withRequired(false))
                .sink(SinkBinding.of(c).withRequired(false))
                .commitPolicy(CommitPolicy.quorum(2)).build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 2));

        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
    }

    @Test
    void acknowledgesAHeartbeatOnlyAfterEverythingBeforeItIsDelivered() {
        FakeSink sink = new FakeSink("a");
        CompletableFuture<Void> gate = new CompletableFuture<>();
        sink.behaviour = b -> gate;
        pipeline = builder().sink(sink).build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 1));
        source.records.add(new Heartbeat(new Lsn(500)));

        await().atMost(5, TimeUnit.SECONDS).until(() -> !sink.sent.isEmpty());
        assertStays(Duration.ofMillis(200), () -> source.acknowledged.isEmpty());
        gate.complete(null);
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(500).equals(source.lastAck()));
    }

    @Test
    void acknowledgesAnIdleHeartbeat() {
        pipeline = builder().sink(new FakeSink("a")).build();
        pipeline.start();
        source.records.add(new Heartbeat(new Lsn(42)));
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(42).equals(source.lastAck()));
    }

    @Test
    void stopDeliversWhatWasReadAndAcknowledgesItBeforeClosingTheSource() {
        FakeSink sink = new FakeSink("a");
        CompletableFuture<Void> gate = new CompletableFuture<>();
        sink.behaviour = b -> gate.thenApply(Function.identity());
        pipeline = builder().sink(sink).build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 5));
        await().atMost(5, TimeUnit.SECONDS).until(() -> !sink.sent.isEmpty());

        new Thread(() -> {
            sleep(200);
            gate.complete(null);
        }).start();
        assertThat(pipeline.stop(Duration.ofSeconds(5))).isTrue();
        assertThat(source.acknowledged).containsExactly(new Lsn(101));
        assertThat(source.closed).isTrue();
        assertThat(sink.closed).isTrue();
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.STOPPED);
        pipeline.stop();
    }

    @Test
    void reconnectsTheSourceAfterAPassingFailure() {
        FakeSink sink = new FakeSink("a");
        AtomicInteger polls = new AtomicInteger();
        FakeSource flaky = new FakeSource() {
            @Override
            public io.deltaforge.spi.SourceRecord poll(Duration timeout) throws InterruptedException {
                if (polls.incrementAndGet() == 2) {
                    throw new RetryableException("connection reset");
                }
                return super.poll(timeout);
            }
        };
        pipeline = Pipeline.builder().name("flaky").source(flaky).envelope(Fakes.TEXT).sink(sink)
                .retryBackoff(Duration.ofMillis(5), Duration.ofMillis(20)).build();
        pipeline.start();
        flaky.records.addAll(tx(1, 100, 1));
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(flaky.lastAck()));
        assertThat(flaky.starts).isGreaterThanOrEqualTo(2);
    }

    @Test
    void aSourceRestartMidTransactionDropsTheHalfReadTransactionAndSkipsWhatWasAlreadyTaken() {
        SourceRecord breakHere = new SourceRecord() {
        };
        FakeSource flaky = new FakeSource() {
            @Override
            public SourceRecord poll(Duration timeout) throws InterruptedException {
                SourceRecord r = super.poll(timeout);
                if (r == breakHere) {
                    throw new RetryableException("connection reset");
                }
                return r;
            }
        };
        FakeSink sink = new FakeSink("a");
        CompletableFuture<Void> gate = new CompletableFuture<>();
        sink.behaviour = b -> gate.thenApply(Function.identity());
        pipeline = Pipeline.builder().name("flaky").source(flaky).envelope(Fakes.TEXT).sink(sink)
                .retryBackoff(Duration.ofMillis(5), Duration.ofMillis(20)).build();
        pipeline.start();
        List<SourceRecord> first = tx(1, 100, 2);
        List<SourceRecord> second = tx(2, 200, 3);
        // tx 1 whole, then two of tx 2's three events, then the connection breaks; the source replays
        // from its acknowledged position (nothing acknowledged yet): tx 1 again, then tx 2 in full.
        flaky.records.addAll(first);
        flaky.records.addAll(second.subList(0, 2));
        flaky.records.add(breakHere);
        flaky.records.addAll(first);
        flaky.records.addAll(second);

        await().atMost(5, TimeUnit.SECONDS).until(() -> flaky.starts >= 2 && flaky.records.isEmpty());
        gate.complete(null);
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(201).equals(flaky.lastAck()));
        List<String> expected = new ArrayList<>();
        for (SourceRecord r : first.subList(0, 2)) {
            expected.add(((ChangeEvent) r).id());
        }
        for (SourceRecord r : second.subList(0, 3)) {
            expected.add(((ChangeEvent) r).id());
        }
        assertThat(sink.deliveredIds()).containsExactlyElementsOf(expected);
    }

    @Test
    void anOptionalSinkThatStopsAnsweringIsSkippedAfterItsPatienceSoTheRequiredSinkGoesOn() {
        FakeSink main = new FakeSink("main");
        FakeSink hanging = new FakeSink("hanging");
        hanging.behaviour = EngineTest::never;
        io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        pipeline = builder().name("patience").sink(main).sink(SinkBinding.of(hanging).withRequired(false))
                .queueCapacity(100).maxInFlightBatches(2).meterRegistry(registry)
                .optionalSinkPatience(Duration.ofMillis(100)).build();
        pipeline.start();
        for (int i = 1; i <= 6; i++) {
            source.records.addAll(tx(i, i * 100L, 1));
            Lsn end = new Lsn(i * 100L + 1);
            await().atMost(5, TimeUnit.SECONDS).until(() -> end.equals(source.lastAck()));
        }
        // The required sink alone decides the checkpoint, so the last skip may be counted just after it moved.
        await().atMost(5, TimeUnit.SECONDS).until(
                () -> registry.get("deltaforge.sink.failures").tag("sink", "hanging").counter().count() == 4);
        assertThat(hanging.sent).hasSize(2);
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.RUNNING);
    }

    @Test
    void underAQuorumThatCountsOptionalSinksABehindOptionalSinkSlowsThePipelineInsteadOfBeingSkipped() {
        FakeSink main = new FakeSink("main");
        FakeSink other = new FakeSink("other");
        FakeSink hanging = new FakeSink("hanging");
        hanging.behaviour = EngineTest::never;
        pipeline = builder().name("quorum").sink(main).sink(SinkBinding.of(other).withRequired(false))
                .sink(SinkBinding.of(hanging).withRequired(false)).commitPolicy(CommitPolicy.quorum(2))
                .queueCapacity(100).maxInFlightBatches(2).optionalSinkPatience(Duration.ofMillis(100)).build();
        pipeline.start();
        for (int i = 1; i <= 2; i++) {
            source.records.addAll(tx(i, i * 100L, 1));
            Lsn end = new Lsn(i * 100L + 1);
            await().atMost(5, TimeUnit.SECONDS).until(() -> end.equals(source.lastAck()));
        }
        source.records.addAll(tx(3, 300, 1));
        await().atMost(5, TimeUnit.SECONDS).until(() -> main.sent.size() == 3);
        source.records.addAll(tx(4, 400, 1));
        assertStays(Duration.ofMillis(500), () -> main.sent.size() == 3);
        assertThat(hanging.sent).hasSize(2);
        assertThat(source.lastAck()).isEqualTo(new Lsn(301));
    }

    @Test
    void theAllPolicyFailsThePipelineWhenAnOptionalSinkFailsForGoodInsteadOfStallingSilently() {
        FakeSink main = new FakeSink("main");
        FakeSink broken = new FakeSink("broken");
        broken.behaviour = b -> CompletableFuture.failedFuture(new DeltaforgeException("schema mismatch"));
        pipeline = builder().sink(main).sink(SinkBinding.of(broken).withRequired(false))
                .commitPolicy(CommitPolicy.all()).build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 1));
        assertThatThrownBy(() -> pipeline.termination().toCompletableFuture().get(5, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasMessageContaining("commit policy can no longer be met")
                .hasMessageContaining("broken failed");
        assertThat(source.acknowledged).isEmpty();
    }

    @Test
    void aDegradedSourceMakesTheRunningPipelineNotReadyWithItsReason() {
        java.util.concurrent.atomic.AtomicReference<String> reason = new java.util.concurrent.atomic.AtomicReference<>();
        FakeSource lagging = new FakeSource() {
            @Override
            public String degraded() {
                return reason.get();
            }
        };
        pipeline = Pipeline.builder().source(lagging).envelope(Fakes.TEXT).sink(new FakeSink("a")).build();
        pipeline.start();
        await().atMost(5, TimeUnit.SECONDS).until(() -> pipeline.status().ready());

        reason.set("replication slot 's' lags 5000 bytes, over max_lag_bytes 1000");
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.RUNNING);
        assertThat(pipeline.status().ready()).isFalse();
        assertThat(pipeline.status().degraded()).isEqualTo("replication slot 's' lags 5000 bytes, over max_lag_bytes 1000");
        assertThat(pipeline.status().healthy()).isTrue();

        reason.set(null);
        assertThat(pipeline.status().ready()).isTrue();
    }

    @Test
    void reportsAPermanentSourceErrorFromStart() {
        FakeSource broken = new FakeSource() {
            @Override
            public void start() {
                throw new DeltaforgeException("publication 'users_pub' does not exist");
            }
        };
        FakeSink sink = new FakeSink("a");
        pipeline = Pipeline.builder().source(broken).envelope(Fakes.TEXT).sink(sink).build();
        assertThatThrownBy(pipeline::start).hasMessageContaining("users_pub");
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.FAILED);
        await().atMost(5, TimeUnit.SECONDS).until(() -> sink.closed && broken.closed);
    }

    @Test
    void retriesASinkThatIsNotReachableAtStart() {
        AtomicInteger starts = new AtomicInteger();
        FakeSink sink = new FakeSink("late") {
            @Override
            public void start() {
                if (starts.incrementAndGet() < 3) {
                    throw new RetryableException("no servers available");
                }
            }
        };
        pipeline = builder().sink(sink).build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 1));
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        assertThat(starts.get()).isEqualTo(3);
    }

    @Test
    void filteredOutEventsStillMoveTheCheckpoint() {
        FakeSink sink = new FakeSink("a");
        pipeline = builder().sink(sink).filter(e -> null).build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 3));
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        assertThat(sink.sent).isEmpty();
    }

    @Test
    void eachSinkGetsWhatItsOwnFilterKeeps() {
        FakeSink all = new FakeSink("all");
        FakeSink evenOnly = new FakeSink("even");
        pipeline = builder().sink(all)
                .sink(SinkBinding.of(evenOnly).withFilter(e -> e.position().indexInTx() % 2 == 0 ? e : null))
                .build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 4));
        source.records.addAll(tx(2, 200, 1));
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(201).equals(source.lastAck()));
        assertThat(all.sent.stream().mapToInt(Batch::size).sum()).isEqualTo(5);
        assertThat(evenOnly.sent.stream().flatMap(b -> b.events().stream()).map(e -> e.position().indexInTx()))
                .containsExactly(0, 2, 0);
    }

    @Test
    void aTrimmedColumnNeverReachesTheEnvelope() {
        FakeSink sink = new FakeSink("a");
        java.util.List<String> seen = new CopyOnWriteArrayList<>();
        pipeline = Pipeline.builder().source(source).sink(sink)
                .envelope(e -> {
                    seen.add(String.valueOf(e.after()));
                    return Fakes.TEXT.encode(e);
                })
                .filter(e -> e.withRows(null, io.deltaforge.api.Row.of(java.util.List.of())))
                .build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 1));
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        assertThat(seen).containsExactly("{}");
    }

    @Test
    void aPausedPipelineTakesNothingNewUntilResumed() {
        FakeSink sink = new FakeSink("a");
        pipeline = builder().sink(sink).build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 1));
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));

        pipeline.pause();
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.PAUSED);
        sleep(250); // a poll already under way when pausing may still finish
        source.records.addAll(tx(2, 200, 1));
        assertStays(Duration.ofMillis(300), () -> source.records.size() == 2);
        assertThat(source.lastAck()).isEqualTo(new Lsn(101));

        pipeline.resume();
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(201).equals(source.lastAck()));
        assertThat(pipeline.status().state()).isEqualTo(PipelineState.RUNNING);
    }

    @Test
    void metersCountEventsPerTableAndOpAndSinkLatency() {
        io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        FakeSink sink = new FakeSink("a");
        pipeline = builder().sink(sink).meterRegistry(registry).build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 3));
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));

        assertThat(registry.get("deltaforge.events.in").tag("table", "public.t").tag("op", "c").counter().count())
                .isEqualTo(3);
        await().atMost(5, TimeUnit.SECONDS).until(() -> registry.find("deltaforge.events.out").tag("sink", "a")
                .counter() != null && registry.get("deltaforge.events.out").tag("sink", "a").counter().count() == 3);
        assertThat(registry.get("deltaforge.sink.latency").tag("sink", "a").timer().count()).isEqualTo(1);
        assertThat(registry.get("deltaforge.batch.size").summary().totalAmount()).isEqualTo(3);
        assertThat(registry.get("deltaforge.lag.seconds").gauge().value()).isZero();
        assertThat(registry.get("deltaforge.sink.inflight").tag("sink", "a").gauge().value()).isZero();
    }

    @Test
    void toBuilderStartsFromThisPipelinesConfigurationAndLeavesThePipelineAlone() {
        FakeSink first = new FakeSink("first");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Pipeline original = builder().name("original").sink(first).batch(BatchConfig.defaults().withMaxEvents(2))
                .meterRegistry(registry).build();
        FakeSink second = new FakeSink("second");
        Pipeline.Builder variant = original.toBuilder().name("variant").sinks(List.of(SinkBinding.of(second)));
        assertThat(original.toBuilder()).as("a new builder each time").isNotSameAs(variant);

        pipeline = variant.build();
        pipeline.start();
        source.records.addAll(tx(1, 100, 5));

        // The variant kept the envelope, the batch size and the meter registry, and sends to its own sink.
        await().atMost(5, TimeUnit.SECONDS).until(() -> new Lsn(101).equals(source.lastAck()));
        assertThat(pipeline.name()).isEqualTo("variant");
        assertThat(original.name()).isEqualTo("original");
        assertThat(second.sent).allSatisfy(b -> assertThat(b.size()).isLessThanOrEqualTo(2));
        assertThat(second.sent.stream().mapToInt(Batch::size).sum()).isEqualTo(5);
        assertThat(first.sent).isEmpty();
        assertThat(registry.find("deltaforge.batches").tag("pipeline", "variant").counter()).isNotNull();
    }

    @Test
    void builderReportsEveryProblemAtOnce() {
        assertThatThrownBy(() -> Pipeline.builder().queueCapacity(0).queueMaxBytes(0).optionalSinkPatience(Duration.ofSeconds(-1)).build())
                .hasMessageContaining("source: is required")
                .hasMessageContaining("optionalSinkPatience")
                .hasMessageContaining("sinks: at least one sink")
                .hasMessageContaining("queueCapacity")
                .hasMessageContaining("queueMaxBytes");
    }

    /** Fails as soon as {@code condition} stops holding within {@code period}: what must not happen, does not. */
    private static void assertStays(Duration period, Callable<Boolean> condition) {
        await().during(period).atMost(period.plusSeconds(5)).until(condition);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @SuppressWarnings("unused")
    private static CompletionStage<Void> never(Batch b) {
        return new CompletableFuture<>();
    }
}
