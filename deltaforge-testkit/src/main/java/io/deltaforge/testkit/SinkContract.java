package io.deltaforge.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.Sink;
import io.deltaforge.spi.Source;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What the engine relies on from every {@link Sink}, as JUnit 5 tests a sink author inherits: a confirmed
 * batch is stored in order, batches sent back to back without waiting all arrive in order, a batch sent
 * again (the engine's retry, or the replay after a crash, by a new sink instance) is harmless, the engine's
 * in-order replay after a batch fails retryably leaves the destination in log order, {@code send} reports a
 * failure in its stage instead of throwing, and a second {@code close} is harmless.
 *
 * <pre>{@code
 * class MySinkContractIT extends SinkContract {
 *     @BeforeEach void freshDestination() { ... }                 // e.g. an empty table or topic
 *     @Override protected Sink newSink() { return new MySink(...); }
 *     @Override protected List<String> storedIds() { ... }         // Message.id() of what is stored, in order
 * }
 * }</pre>
 *
 * <p>Each test calls {@link #newSink()} for every sink it needs (all over the one destination the test set
 * up) and starts and closes them itself, or has a pipeline do it: the replay test runs the sink in a real
 * pipeline and reports one of its batches as failed after the sink stored it. A sink that cannot de-duplicate (at-least-once, like an append-only
 * file) overrides {@link #deduplicatesById()}; its replays are then checked to repeat, never to lose or
 * reorder.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class SinkContract {
    private static final Duration CONFIRM_TIMEOUT = Duration.ofSeconds(60);
    private static final TableId TABLE = TableId.parse("public.contract_rows");
    private static final List<String> COLUMNS = List.of("id", "name");
    private static final Instant TIME = Instant.parse("2025-01-15T10:30:00Z");
    private long nextCommit = 0x1000;
    private long nextSequence;

    /** A new, not yet started sink over the destination this test set up. */
    protected abstract Sink newSink() throws Exception;

    /** The {@link Message#id()} of every message the destination holds, in the order it stores them. */
    protected abstract List<String> storedIds() throws Exception;

    /** Whether the sink drops a message whose id it stored already (exactly-once sinks); true by default. */
    protected boolean deduplicatesById() {
        return true;
    }

    @Test
    public void aConfirmedBatchIsStoredCompletelyAndInOrder() throws Exception {
        Batch batch = batch(25);
        try (Sink sink = started()) {
            confirm(sink.send(batch));
        }
        assertThat(storedIds()).containsExactlyElementsOf(ids(batch));
    }

    @Test
    public void batchesSentBackToBackWithoutWaitingAreAllStoredInOrder() throws Exception {
        List<Batch> batches = new ArrayList<>();
        List<CompletableFuture<Void>> confirmations = new ArrayList<>();
        try (Sink sink = started()) {
            for (int i = 0; i < 20; i++) {
                Batch b = batch(10);
                batches.add(b);
                confirmations.add(sink.send(b).toCompletableFuture());
            }
            for (CompletableFuture<Void> c : confirmations) {
                confirm(c);
            }
        }
        List<String> expected = new ArrayList<>();
        batches.forEach(b -> expected.addAll(ids(b)));
        assertThat(storedIds()).containsExactlyElementsOf(expected);
    }

    @Test
    public void aBatchSentAgainByTheSameSinkIsHarmless() throws Exception {
        Batch first = batch(5);
        Batch second = batch(5);
        try (Sink sink = started()) {
            confirm(sink.send(first));
            confirm(sink.send(second));
            confirm(sink.send(second));
        }
        assertReplayed(List.of(first, second));
    }

    @Test
    public void aReplayByANewSinkAfterARestartIsHarmless() throws Exception {
        Batch before = batch(8);
        Batch unconfirmed = batch(8);
        try (Sink sink = started()) {
            confirm(sink.send(before));
            confirm(sink.send(unconfirmed));
        }
        // After a crash the engine replays from the last checkpoint, which may lie before batches that were
        // stored but not yet acknowledged to the source; the replay carries the same ids.
        Batch after = batch(8);
        try (Sink sink = started()) {
            confirm(sink.send(unconfirmed));
            confirm(sink.send(after));
        }
        assertReplayed(List.of(before, unconfirmed, after));
    }

    @Test
    public void afterARetryableFailureTheEngineReplaysInOrderAndTheDestinationKeepsLogOrder() throws Exception {
        ContractSource source = new ContractSource();
        List<ChangeEvent> events = new ArrayList<>();
        for (int tx = 0; tx < 6; tx++) {
            events.addAll(source.addTransaction(5));
        }
        FailingOnce probe = new FailingOnce(newSink());
        Pipeline pipeline = Pipeline.builder().name("sink-contract").source(source).sink(probe)
                .envelope(SinkContract::encode).batch(BatchConfig.defaults().withMaxEvents(5))
                .retryBackoff(Duration.ofMillis(20), Duration.ofMillis(200)).build();
        try {
            pipeline.start();
            source.acknowledgedEverything.get(CONFIRM_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } finally {
            pipeline.stop(Duration.ofSeconds(10));
        }
        List<Long> sends = probe.sends();
        assertThat(probe.failed()).as("the batch failed on purpose (sends were %s)", sends).isPositive();
        assertInOrderWithOneReplayOf(probe.failed(), sends);
        List<String> expected = events.stream().map(ChangeEvent::id).toList();
        List<String> stored = storedIds();
        if (deduplicatesById()) {
            assertThat(stored).as("stored ids (the sink de-duplicates by Message.id())").containsExactlyElementsOf(expected);
        } else {
            assertThat(new ArrayList<>(new LinkedHashSet<>(stored))).as("first copies of the stored ids")
                    .containsExactlyElementsOf(expected);
        }
    }

    @Test
    public void sendNeverThrowsAFailureAfterCloseGoesIntoTheStage() throws Exception {
        Sink sink = started();
        sink.close();
        CompletableFuture<Void> stage = sink.send(batch(1)).toCompletableFuture();
        assertThat(stage).as("send after close").failsWithin(CONFIRM_TIMEOUT);
    }

    @Test
    public void closingTwiceIsHarmless() throws Exception {
        Sink sink = started();
        confirm(sink.send(batch(2)));
        sink.close();
        sink.close();
    }

    @Test
    public void theIdIsAShortName() throws Exception {
        try (Sink sink = newSink()) {
            assertThat(sink.id()).as("Sink.id()").isNotBlank().hasSizeLessThanOrEqualTo(64);
        }
    }

    /** With de-duplication: each id exactly once, in order. Without: each at least once, first copies in order. */
    private void assertReplayed(List<Batch> batches) throws Exception {
        List<String> expected = new ArrayList<>();
        batches.forEach(b -> expected.addAll(ids(b)));
        List<String> stored = storedIds();
        if (deduplicatesById()) {
            assertThat(stored).as("stored ids (the sink de-duplicates by Message.id())")
                    .containsExactlyElementsOf(expected);
        } else {
            assertThat(new ArrayList<>(new LinkedHashSet<>(stored))).as("first copies of the stored ids")
                    .containsExactlyElementsOf(expected);
        }
    }

    /**
     * The sends must be ascending, except for one replay that starts at the failed batch and repeats, in
     * order, every batch sent before it from there on, before anything newer.
     */
    private static void assertInOrderWithOneReplayOf(long failed, List<Long> sends) {
        int replay = -1;
        for (int i = 1; i < sends.size(); i++) {
            if (sends.get(i) <= sends.get(i - 1)) {
                assertThat(replay).as("only one replay expected in the sends %s", sends).isEqualTo(-1);
                replay = i;
            }
        }
        assertThat(replay).as("the failed batch %d is sent again (sends %s)", failed, sends).isPositive();
        List<Long> before = sends.subList(sends.indexOf(failed), replay);
        assertThat(sends.subList(replay, Math.min(sends.size(), replay + before.size())))
                .as("after batch %d failed, the engine sends it and every batch sent after it again, in order,"
                        + " before anything newer (sends %s)", failed, sends)
                .containsExactlyElementsOf(before);
    }

    private Sink started() throws Exception {
        Sink sink = newSink();
        sink.start();
        return sink;
    }

    private static void confirm(CompletionStage<Void> stage) throws Exception {
        stage.toCompletableFuture().get(CONFIRM_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static List<String> ids(Batch batch) {
        return batch.messages().stream().map(Message::id).toList();
    }

    /** A batch of one transaction's inserts with fresh, deterministic ids and small JSON payloads. */
    protected final Batch batch(int size) {
        List<ChangeEvent> events = transaction(size);
        return new Batch(++nextSequence, events, events.stream().map(SinkContract::encode).toList());
    }

    private List<ChangeEvent> transaction(int size) {
        Lsn commit = new Lsn(nextCommit++);
        List<ChangeEvent> events = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            String id = EventIds.forChange("contract-source", commit, i);
            events.add(new ChangeEvent(id, "contract-source", Op.CREATE, TABLE, null,
                    Row.of(COLUMNS, (long) i, "row " + i), new SourcePosition(commit, commit, i, 1, TIME)));
        }
        return events;
    }

    private static Message encode(ChangeEvent event) {
        byte[] payload = ("{\"id\":\"" + event.id() + "\",\"row\":" + event.position().indexInTx() + "}")
                .getBytes(StandardCharsets.UTF_8);
        return new Message(event.id(), Map.of(), "application/json", payload);
    }

    /** Hands the engine prepared transactions; tells when the last one was acknowledged. */
    private final class ContractSource implements Source {
        private final LinkedBlockingQueue<SourceRecord> records = new LinkedBlockingQueue<>();
        private final CompletableFuture<Void> acknowledgedEverything = new CompletableFuture<>();
        private Lsn end = Lsn.ZERO;

        List<ChangeEvent> addTransaction(int size) {
            List<ChangeEvent> events = transaction(size);
            Lsn commit = events.get(0).position().commitLsn();
            records.addAll(events);
            end = new Lsn(commit.value() + 1);
            records.add(new TransactionCommit(1, commit, end, TIME, size));
            return events;
        }

        @Override
        public String id() {
            return "contract-source";
        }

        @Override
        public void start() {
        }

        @Override
        public @Nullable SourceRecord poll(Duration timeout) throws InterruptedException {
            return records.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public void acknowledge(Lsn position) {
            if (position.compareTo(end) >= 0) {
                acknowledgedEverything.complete(null);
            }
        }

        @Override
        public void close() {
        }
    }

    /**
     * Passes everything to the sink under test, but reports the second batch as failed retryably once the
     * sink stored it and the engine sent a later batch: the case where a later batch is stored before the
     * hole the failed one leaves. Records the sequence of every send.
     */
    private static final class FailingOnce implements Sink {
        private final Sink sink;
        private final List<Long> sends = new CopyOnWriteArrayList<>();
        private final CompletableFuture<Void> laterBatchSent = new CompletableFuture<>();
        private volatile long failed;

        FailingOnce(Sink sink) {
            this.sink = sink;
        }

        @Override
        public String id() {
            return sink.id();
        }

        @Override
        public void start() {
            sink.start();
        }

        @Override
        public CompletionStage<Void> send(Batch batch) {
            boolean firstSend = !sends.contains(batch.sequence());
            sends.add(batch.sequence());
            CompletionStage<Void> stage = sink.send(batch);
            if (failed != 0 && batch.sequence() > failed) {
                laterBatchSent.complete(null);
            }
            if (!firstSend || sends.size() != 2) {
                return stage;
            }
            failed = batch.sequence();
            // Without a later batch (a sink that confirms slowly) the failure still comes, after a while.
            CompletableFuture<Void> later = laterBatchSent.copy().completeOnTimeout(null, 2, TimeUnit.SECONDS);
            return stage.thenCombine(later, (stored, sent) -> null)
                    .thenCompose(x -> CompletableFuture.failedFuture(new RetryableException(
                            "SinkContract: batch " + batch.sequence() + " reported as failed on purpose")));
        }

        @Override
        public void close() {
            sink.close();
        }

        List<Long> sends() {
            return List.copyOf(sends);
        }

        long failed() {
            return failed;
        }
    }
}
