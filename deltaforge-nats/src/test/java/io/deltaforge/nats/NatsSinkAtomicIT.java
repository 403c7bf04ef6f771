package io.deltaforge.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.Headers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code atomic_transactions}: each transaction stored as JetStream atomic batches, so a reader never sees part of
 * one. Needs nats-server 2.12 or newer (the default test server); on older servers only the fallback is tested.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NatsSinkAtomicIT {
    private static final String STREAM = "ATOMIC";
    @RegisterExtension
    static final JetStreamServer nats = new JetStreamServer();
    private final List<NatsSink> sinks = new ArrayList<>();
    private long nextCommit = 10_000;
    private long sequence;

    @AfterEach
    void closeAll() throws Exception {
        sinks.forEach(NatsSink::close);
    }

    private boolean serverHasAtomicPublish() {
        return nats.admin().getServerInfo().isSameOrNewerThanVersion("2.12.0");
    }

    private void assumeAtomicPublish() {
        assumeTrue(serverHasAtomicPublish(), "nats-server " + nats.admin().getServerInfo().getVersion()
                + " has no atomic batch publish (needs 2.12+); run with DELTAFORGE_NATS_SERVER pointing at nats-server"
                + " 2.15 (the default test run does)");
    }

    private NatsSink.Builder builder(AtomicTransactions mode) {
        return NatsSink.builder().id("atomic-nats").url(nats.url()).subject("atomic.{table}").stream(STREAM)
                .atomicTransactions(mode);
    }

    private NatsSink started(NatsSink.Builder builder) {
        NatsSink sink = builder.build();
        sinks.add(sink);
        sink.start();
        return sink;
    }

    private void stream(boolean allowAtomic) {
        Streams.add(nats.jsm(), StreamConfiguration.builder().name(STREAM).subjects("atomic.>")
                .storageType(StorageType.File).allowAtomicPublish(allowAtomic).duplicateWindow(Duration.ofMinutes(2))
                .build());
    }

    /** One transaction of {@code size} events (indexInTx 0..size-1) as one batch. */
    private Batch transaction(int size) {
        return part(new Lsn(nextCommit++), 0, size, false);
    }

    /** Events {@code from} to {@code to} (exclusive) of the transaction committed at {@code commit}. */
    private Batch part(Lsn commit, int from, int to, boolean continues) {
        List<ChangeEvent> events = new ArrayList<>();
        List<Message> messages = new ArrayList<>();
        for (int i = from; i < to; i++) {
            String id = EventIds.forChange("pg", commit, i);
            events.add(new ChangeEvent(id, "pg", Op.CREATE, Batches.USERS, null, Row.of(List.of("id"), (long) i),
                    new SourcePosition(commit, commit, i, 7, Instant.parse("2025-01-15T10:30:00Z"))));
            messages.add(new Message(id, Map.of(), "application/json",
                    ("{\"id\":\"" + id + "\"}").getBytes(StandardCharsets.UTF_8)));
        }
        return new Batch(++sequence, events, messages, continues);
    }

    private long stored() throws Exception {
        return nats.jsm().getStreamInfo(STREAM).getStreamState().getMsgCount();
    }

    private static void await(CompletableFuture<Void> stage) throws Exception {
        stage.get(60, TimeUnit.SECONDS);
    }

    @Test
    void aReaderPollingTheStreamNeverSeesPartOfATransaction() throws Exception {
        assumeAtomicPublish();
        // A memory stream: auto leaves single-replica file streams alone (see the next test).
        NatsSink sink = started(builder(AtomicTransactions.AUTO).createStream(true).streamStorage("memory"));
        assertThat(sink.publishesAtomically()).isTrue();
        assertThat(nats.jsm().getStreamInfo(STREAM).getConfiguration().getAllowAtomicPublish()).isTrue();

        Observed observed = publishWhileReading(sink, 60);
        assertThat(observed.seen()).hasSizeGreaterThan(1);
        assertThat(observed.partial()).as("newest messages seen that were not the last of their transaction").isEmpty();
    }

    @Test
    void autoLeavesASingleReplicaFileStreamEventByEventAndOnUsesItAnyway() throws Exception {
        assumeAtomicPublish();
        stream(true);
        NatsSink auto = builder(AtomicTransactions.AUTO).build();
        sinks.add(auto);
        assertThat(auto.check()).singleElement().asString().contains("single-replica file stream")
                .contains("atomic_transactions: on");
        auto.start();
        assertThat(auto.publishesAtomically()).isFalse();

        NatsSink on = builder(AtomicTransactions.ON).id("atomic-on").build();
        sinks.add(on);
        assertThat(on.check()).isEmpty();
        on.start();
        assertThat(on.publishesAtomically()).isTrue();
    }

    @Test
    void aCheckBeforeTheStreamExistsJudgesTheStreamTheFirstStartWouldCreate() throws Exception {
        assumeAtomicPublish();
        NatsSink fileStream = builder(AtomicTransactions.AUTO).createStream(true).build();
        sinks.add(fileStream);
        assertThat(fileStream.check()).hasSize(2).anySatisfy(note -> assertThat(note).contains("does not exist yet"))
                .anySatisfy(note -> assertThat(note).contains("single-replica file stream"));

        NatsSink memoryStream = builder(AtomicTransactions.AUTO).id("atomic-memory").createStream(true)
                .streamStorage("memory").build();
        sinks.add(memoryStream);
        assertThat(memoryStream.check()).singleElement().asString().contains("does not exist yet");
        assertThat(nats.jsm().getStreamNames()).doesNotContain(STREAM);
    }

    @Test
    void withAtomicTransactionsOffTheSameReaderSeesPartsOfTransactions() throws Exception {
        stream(false);
        NatsSink sink = started(builder(AtomicTransactions.OFF));
        assertThat(sink.publishesAtomically()).isFalse();

        Observed observed = publishWhileReading(sink, 60);
        assertThat(observed.partial()).as("the reader would catch a missing atomicity").isNotEmpty();
    }

    private record Observed(Set<String> seen, Set<String> partial) {
    }

    /**
     * Publishes transactions of 1 to 1,000 events, a few at a time in flight, while a reader polls the stream's
     * newest message (a read the server isolates from an atomic batch's commit); returns the ids of the newest
     * messages seen and those that were not the last event of their transaction.
     */
    private Observed publishWhileReading(NatsSink sink, int transactions) throws Exception {
        Random random = new Random(14);
        Set<String> lastOfTransaction = new HashSet<>();
        List<Batch> batches = new ArrayList<>();
        long total = 0;
        for (int t = 0; t < transactions; t++) {
            int size = t % 3 == 0 ? 1000 : 1 + random.nextInt(1000);
            Batch b = transaction(size);
            batches.add(b);
            lastOfTransaction.add(b.messages().get(size - 1).id());
            total += size;
        }
        Set<String> seen = new ConcurrentSkipListSet<>();
        AtomicBoolean done = new AtomicBoolean();
        CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
            try (Connection own = nats.connect()) {
                JetStreamManagement m = own.jetStreamManagement();
                while (!done.get()) {
                    try {
                        seen.add(m.getLastMessage(STREAM, "atomic.>").getHeaders().getFirst("Nats-Msg-Id"));
                    } catch (JetStreamApiException e) {
                        // No message yet.
                    }
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        List<CompletableFuture<Void>> stages = new ArrayList<>();
        for (Batch b : batches) {
            stages.add(sink.send(b).toCompletableFuture());
            if (stages.size() >= 4) {
                await(stages.remove(0));
            }
        }
        for (CompletableFuture<Void> s : stages) {
            await(s);
        }
        String newest = batches.get(batches.size() - 1).messages().get(batches.get(batches.size() - 1).size() - 1).id();
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> seen.contains(newest));
        done.set(true);
        reader.get(30, TimeUnit.SECONDS);
        assertThat(stored()).isEqualTo(total);
        Set<String> partial = new TreeSet<>(seen);
        partial.removeAll(lastOfTransaction);
        return new Observed(seen, partial);
    }

    @Test
    void aTransactionOfMoreThanAThousandEventsGoesAsConsecutiveAtomicBatchesThatSaySo() throws Exception {
        assumeAtomicPublish();
        NatsSink sink = started(builder(AtomicTransactions.ON).createStream(true));
        Lsn commit = new Lsn(nextCommit++);
        // As the engine hands it over for a sink storing parts: whole parts, the first batch saying it goes on.
        await(sink.send(part(commit, 0, 2000, true)).toCompletableFuture());
        await(sink.send(part(commit, 2000, 2500, false)).toCompletableFuture());

        assertThat(stored()).isEqualTo(2500);
        for (long[] expect : new long[][] {{1, 1, 0}, {1000, 1, 0}, {1001, 2, 0}, {2000, 2, 0}, {2001, 3, 1}, {2500, 3, 1}}) {
            MessageInfo m = nats.jsm().getMessage(STREAM, expect[0]);
            assertThat(m.getHeaders().getFirst("DeltaForge-Tx-Part")).as("part of message %s", expect[0])
                    .isEqualTo(Long.toString(expect[1]));
            assertThat(m.getHeaders().getFirst("DeltaForge-Tx-Last-Part")).isEqualTo(expect[2] == 1 ? "true" : "false");
            assertThat(m.getHeaders().getFirst("Nats-Msg-Id")).isEqualTo(EventIds.forChange("pg", commit, (int) expect[0] - 1));
        }
        await(sink.send(transaction(3)).toCompletableFuture());
        assertThat(nats.jsm().getMessage(STREAM, 2501).getHeaders().getFirst("DeltaForge-Tx-Part"))
                .as("a transaction of one part carries no part headers").isNull();
    }

    @Test
    void withOversizeFailATransactionOfMoreThanAThousandEventsFailsNamingIt() throws Exception {
        assumeAtomicPublish();
        NatsSink sink = started(builder(AtomicTransactions.ON).createStream(true).splitOversizeTransactions(false));
        Batch big = transaction(1001);

        assertThatThrownBy(() -> await(sink.send(big).toCompletableFuture()))
                .isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("LSN " + big.events().get(0).position().commitLsn())
                .hasMessageContaining("oversize is fail").hasMessageContaining("oversize: split");
        assertThat(stored()).isZero();
    }

    @Test
    void aReplayedTransactionIsRecognisedAsStoredAndNothingIsStoredTwice() throws Exception {
        assumeAtomicPublish();
        NatsSink sink = started(builder(AtomicTransactions.ON).createStream(true));
        Batch first = transaction(300);
        Batch second = transaction(5);
        await(sink.send(first).toCompletableFuture());
        await(sink.send(second).toCompletableFuture());

        // A crash before the commit's PubAck reached the engine: it sends both again; JetStream rejects each
        // atomic batch whole for its duplicate ids, which the sink proves to be stored.
        await(sink.send(first).toCompletableFuture());
        await(sink.send(second).toCompletableFuture());

        assertThat(stored()).isEqualTo(305);
        assertThat(sink.duplicates()).isEqualTo(305);
    }

    @Test
    void theOpenRemnantOfAKilledRunnersAttemptDoesNotLetALaterTransactionOvertakeTheResend() throws Exception {
        assumeAtomicPublish();
        stream(true);
        NatsSink sink = started(builder(AtomicTransactions.ON));
        Batch first = transaction(3);
        Batch second = transaction(3);
        // A runner killed in the middle of the first transaction's atomic batch: the server keeps that batch
        // open (for its batch timeout), under the id the transaction's batches always had.
        Lsn commit = first.events().get(0).position().commitLsn();
        Headers remnant = new Headers().put("Nats-Batch-Id", "pg@" + commit + "#1").put("Nats-Batch-Sequence", "1")
                .put("Nats-Msg-Id", first.messages().get(0).id());
        nats.admin().publish("atomic.users", remnant, first.messages().get(0).payload());
        nats.admin().flush(Duration.ofSeconds(5));

        // The restarted runner sends both transactions at once, as the engine does.
        CompletableFuture<Void> one = sink.send(first).toCompletableFuture();
        CompletableFuture<Void> two = sink.send(second).toCompletableFuture();
        await(one);
        await(two);

        List<String> order = new ArrayList<>();
        for (long seq = 1; seq <= stored(); seq++) {
            order.add(nats.jsm().getMessage(STREAM, seq).getHeaders().getFirst("Nats-Msg-Id"));
        }
        List<String> expected = new ArrayList<>();
        first.messages().forEach(m -> expected.add(m.id()));
        second.messages().forEach(m -> expected.add(m.id()));
        assertThat(order).containsExactlyElementsOf(expected);
    }

    @Test
    void aStreamHoldingPartOfATransactionGetsTheRestOnReplayAndNothingTwice() throws Exception {
        assumeAtomicPublish();
        stream(true);
        NatsSink off = started(builder(AtomicTransactions.OFF));
        Lsn commit = new Lsn(nextCommit++);
        Batch whole = part(commit, 0, 10, false);
        // An earlier run without atomic batches stored the first 4 events and crashed.
        await(off.send(part(commit, 0, 4, true)).toCompletableFuture());
        off.close();

        NatsSink on = started(builder(AtomicTransactions.ON));
        await(on.send(whole).toCompletableFuture());

        assertThat(stored()).isEqualTo(10);
        Set<String> ids = new HashSet<>();
        for (long seq = 1; seq <= 10; seq++) {
            ids.add(nats.jsm().getMessage(STREAM, seq).getHeaders().getFirst("Nats-Msg-Id"));
        }
        assertThat(ids).containsExactlyInAnyOrderElementsOf(whole.messages().stream().map(Message::id).toList());
        assertThat(on.duplicates()).isEqualTo(4);
    }

    @Test
    void onAgainstAStreamThatDoesNotAllowAtomicPublishFailsAtStartNamingTheStreamAndTheFix() throws Exception {
        assumeAtomicPublish();
        stream(false);
        NatsSink on = builder(AtomicTransactions.ON).build();
        sinks.add(on);

        assertThatThrownBy(on::check).isInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("stream '" + STREAM + "' does not allow atomic publish")
                .hasMessageContaining("allow_atomic: true").hasMessageContaining("atomic_transactions: auto");
        assertThatThrownBy(on::start).isInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("atomic_transactions is on").hasMessageContaining("stream '" + STREAM + "'");

        NatsSink auto = builder(AtomicTransactions.AUTO).build();
        sinks.add(auto);
        assertThat(auto.check()).singleElement().asString().contains("does not allow atomic publish");
        auto.start();
        assertThat(auto.publishesAtomically()).isFalse();
    }

    @Test
    void aServerRestartInTheMiddleOfABatchLeavesWholeTransactionsOnlyAndTheResendCompletesThem() throws Exception {
        assumeAtomicPublish();
        NatsSink sink = started(builder(AtomicTransactions.ON).createStream(true).sendTimeout(Duration.ofSeconds(2))
                .batchTimeout(Duration.ofSeconds(5)));
        List<Batch> batches = new ArrayList<>();
        Set<Long> boundaries = new TreeSet<>(List.of(0L));
        long total = 0;
        for (int t = 0; t < 20; t++) {
            batches.add(transaction(1000));
            total += 1000;
            boundaries.add(total);
        }
        List<CompletableFuture<Void>> stages = new ArrayList<>();
        for (Batch b : batches) {
            stages.add(sink.send(b).toCompletableFuture());
        }
        nats.server().kill();
        nats.server().startAgain();
        for (CompletableFuture<Void> s : stages) {
            s.handle((ok, error) -> null).get(30, TimeUnit.SECONDS);
        }
        Connection again = nats.connect();
        try {
            JetStreamManagement m = again.jetStreamManagement();
            long afterRestart = m.getStreamInfo(STREAM).getStreamState().getMsgCount();
            assertThat(boundaries).as("messages stored after the restart: %s", afterRestart).contains(afterRestart);

            // The engine resends every batch not confirmed; the sink reconnects on the next send.
            for (int i = 0; i < batches.size(); i++) {
                if (stages.get(i).isCompletedExceptionally()) {
                    Batch b = batches.get(i);
                    Awaitility.await("batch " + i + " resent").atMost(Duration.ofSeconds(60))
                            .pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                            .until(() -> {
                                await(sink.send(b).toCompletableFuture());
                                return true;
                            });
                }
            }
            assertThat(m.getStreamInfo(STREAM).getStreamState().getMsgCount()).isEqualTo(total);
        } finally {
            again.close();
        }
    }

    @Test
    void onAnOldServerAutoFallsBackToEventByEventAndOnRefusesToStart() throws Exception {
        assumeTrue(!serverHasAtomicPublish(), "nats-server " + nats.admin().getServerInfo().getVersion()
                + " has atomic batch publish; this fallback is tested by ./dev.sh nats-matrix on 2.9");
        NatsSink onBeforeCreation = builder(AtomicTransactions.ON).createStream(true).build();
        sinks.add(onBeforeCreation);
        assertThatThrownBy(onBeforeCreation::check).as("validate before the first start creates the stream")
                .isInstanceOf(DeltaforgeException.class).hasMessageContaining("has no atomic batch publish");

        NatsSink auto = started(builder(AtomicTransactions.AUTO).createStream(true));
        assertThat(auto.publishesAtomically()).isFalse();
        await(auto.send(transaction(3)).toCompletableFuture());
        assertThat(stored()).isEqualTo(3);

        NatsSink on = builder(AtomicTransactions.ON).build();
        sinks.add(on);
        assertThatThrownBy(on::start).isInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("has no atomic batch publish").hasMessageContaining("upgrade the server");
    }
}
