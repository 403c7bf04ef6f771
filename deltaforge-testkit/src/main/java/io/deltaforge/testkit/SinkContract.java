package io.deltaforge.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.Sink;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What the engine relies on from every {@link Sink}, as JUnit 5 tests a sink author inherits: a confirmed
 * batch is stored in order, batches sent back to back without waiting all arrive in order, and a batch sent
 * again (the engine's retry, or the replay after a crash, by a new sink instance) is harmless.
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
 * up) and starts and closes them itself. A sink that cannot de-duplicate (at-least-once, like an append-only
 * file) overrides {@link #deduplicatesById()}; its replays are then checked to repeat, never to lose or
 * reorder.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class SinkContract {
    private static final Duration CONFIRM_TIMEOUT = Duration.ofSeconds(60);
    private static final TableId TABLE = TableId.parse("public.contract_rows");
    private static final List<String> COLUMNS = List.of("id", "name");
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

    private Sink started() throws Exception {
        Sink sink = newSink();
        sink.start();
        return sink;
    }

    private static void confirm(java.util.concurrent.CompletionStage<Void> stage) throws Exception {
        stage.toCompletableFuture().get(CONFIRM_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static List<String> ids(Batch batch) {
        return batch.messages().stream().map(Message::id).toList();
    }

    /** A batch of one transaction's inserts with fresh, deterministic ids and small JSON payloads. */
    protected final Batch batch(int size) {
        Lsn commit = new Lsn(nextCommit++);
        Instant time = Instant.parse("2025-01-15T10:30:00Z");
        List<ChangeEvent> events = new ArrayList<>(size);
        List<Message> messages = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            String id = EventIds.forChange("contract-source", commit, i);
            events.add(new ChangeEvent(id, "contract-source", Op.CREATE, TABLE, null,
                    Row.of(COLUMNS, (long) i, "row " + i), new SourcePosition(commit, commit, i, 1, time)));
            byte[] payload = ("{\"id\":\"" + id + "\",\"row\":" + i + "}").getBytes(StandardCharsets.UTF_8);
            messages.add(new Message(id, Map.of(), "application/json", payload));
        }
        return new Batch(++nextSequence, events, messages);
    }
}
