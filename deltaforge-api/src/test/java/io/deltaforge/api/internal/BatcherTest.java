package io.deltaforge.api.internal;

import static io.deltaforge.api.internal.Fakes.tx;
import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.EventFilter;
import io.deltaforge.api.Lsn;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Heartbeat;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.SourceRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class BatcherTest {
    private record Emitted(List<String> ids, @Nullable Lsn checkpoint) {
    }

    private final List<Emitted> emitted = new ArrayList<>();
    private final Batcher batcher = new Batcher(new BatchConfig(500, 1 << 20, Duration.ofSeconds(1), true),
            EventFilter.ALL, List.of(Fakes.TEXT), List.of(EventFilter.ALL),
            (count, events, messages, checkpoint, continues) -> emitted.add(new Emitted(
                    events.get(0).stream().map(ChangeEvent::id).toList(), checkpoint)));

    private void addAll(List<SourceRecord> records) throws InterruptedException {
        for (SourceRecord r : records) {
            batcher.add(r);
        }
    }

    private static List<String> ids(List<SourceRecord> records) {
        return records.stream().filter(r -> r instanceof ChangeEvent).map(r -> ((ChangeEvent) r).id()).toList();
    }

    @Test
    void eventsAnEnvelopeDoesNotPublishAreLeftOutOfItsSinkButTheCheckpointPassesThem() throws Exception {
        Envelope oddOnly = new Envelope() {
            @Override
            public Message encode(ChangeEvent event) {
                assertThat(publishes(event)).as("encode is asked only for published events").isTrue();
                return Fakes.TEXT.encode(event);
            }

            @Override
            public boolean publishes(ChangeEvent event) {
                return event.position().indexInTx() % 2 == 1;
            }
        };
        List<List<String>> perSink = new ArrayList<>();
        List<Lsn> checkpoints = new ArrayList<>();
        Batcher twoSinks = new Batcher(new BatchConfig(500, 1 << 20, Duration.ofSeconds(1), true), EventFilter.ALL,
                List.of(oddOnly, Fakes.TEXT), List.of(EventFilter.ALL, EventFilter.ALL),
                (count, events, messages, checkpoint, continues) -> {
                    events.forEach(e -> perSink.add(e.stream().map(ChangeEvent::id).toList()));
                    checkpoints.add(checkpoint);
                });
        List<SourceRecord> records = tx(1, 100, 3);
        for (SourceRecord r : records) {
            twoSinks.add(r);
        }
        twoSinks.flushIdle();

        assertThat(perSink).containsExactly(List.of(ids(records).get(1)), ids(records));
        assertThat(checkpoints).containsExactly(new Lsn(101));
    }

    @Test
    void aLateHeartbeatDoesNotPullBackTheCheckpointOfTheOpenBatch() throws Exception {
        addAll(tx(1, 100, 2));
        batcher.add(new Heartbeat(new Lsn(50)));
        batcher.flushIdle();
        assertThat(emitted).containsExactly(new Emitted(ids(tx(1, 100, 2)), new Lsn(101)));
    }

    @Test
    void afterASourceRestartTheHalfReadTransactionIsDroppedAndReplaysOfTakenOnesAreSkipped() throws Exception {
        List<SourceRecord> first = tx(1, 100, 2);
        List<SourceRecord> second = tx(2, 200, 3);
        addAll(first);
        addAll(second.subList(0, 2));
        batcher.sourceRestarted();
        addAll(first);
        addAll(second);
        addAll(tx(3, 300, 1));
        batcher.flushIdle();

        List<String> all = new ArrayList<>(ids(first));
        all.addAll(ids(second));
        all.addAll(ids(tx(3, 300, 1)));
        assertThat(emitted).containsExactly(new Emitted(all, new Lsn(301)));
        assertThat(batcher.skippedReplays()).isEqualTo(3);
    }

    @Test
    void aRestartAfterAPartlySentLargeTransactionReplaysItFromItsStart() throws Exception {
        Batcher small = new Batcher(new BatchConfig(2, 1 << 20, Duration.ofSeconds(1), true), EventFilter.ALL,
                List.of(Fakes.TEXT), List.of(EventFilter.ALL),
                (count, events, messages, checkpoint, continues) -> emitted.add(new Emitted(
                        events.get(0).stream().map(ChangeEvent::id).toList(), checkpoint)));
        List<SourceRecord> big = tx(7, 700, 5);
        for (SourceRecord r : big.subList(0, 3)) {
            small.add(r);
        }
        small.sourceRestarted();
        for (SourceRecord r : big) {
            small.add(r);
        }
        small.flushIdle();
        List<String> ids = ids(big);
        // The first chunk went out before the restart; the replay sends the whole transaction again with
        // the same ids (the sinks drop what they have), and only its commit carries the checkpoint.
        assertThat(emitted).extracting(Emitted::ids).containsExactly(ids.subList(0, 2), ids.subList(0, 2),
                ids.subList(2, 4), List.of(ids.get(4)));
        assertThat(emitted.get(emitted.size() - 1).checkpoint()).isEqualTo(new Lsn(701));
        assertThat(emitted.subList(0, 3)).allSatisfy(e -> assertThat(e.checkpoint()).isNull());
    }

    @Test
    void aStopSendsCompleteTransactionsOnlyAndLeavesTheUnfinishedOneToTheReplay() throws Exception {
        addAll(tx(1, 100, 2));
        addAll(tx(2, 200, 3).subList(0, 2));
        batcher.flushCommitted();
        assertThat(emitted).containsExactly(new Emitted(ids(tx(1, 100, 2)), new Lsn(101)));
        assertThat(batcher.isEmpty()).isTrue();
    }

    @Test
    void forASinkStoringTransactionPartsABigTransactionIsSplitOnlyAtWholeParts() throws Exception {
        List<Integer> sizes = new ArrayList<>();
        List<Boolean> continuing = new ArrayList<>();
        List<@Nullable Lsn> checkpoints = new ArrayList<>();
        Batcher parts = new Batcher(new BatchConfig(500, 1 << 20, Duration.ofSeconds(1), true), EventFilter.ALL,
                List.of(Fakes.TEXT), List.of(EventFilter.ALL), (count, events, messages, checkpoint, continues) -> {
                    sizes.add(events.get(0).size());
                    continuing.add(continues);
                    checkpoints.add(checkpoint);
                }, true);
        for (SourceRecord r : tx(1, 10_000, 3)) {
            parts.add(r);
        }
        for (SourceRecord r : tx(2, 20_000, 2_300)) {
            parts.add(r);
        }
        parts.flushIdle();

        // The small transaction leaves on its own once the big one outgrows max_events; the big one leaves in
        // parts of 1,000 (beyond max_events 500), each but the last saying that the transaction goes on.
        assertThat(sizes).containsExactly(3, 1000, 1000, 300);
        assertThat(continuing).containsExactly(false, true, true, false);
        assertThat(checkpoints).containsExactly(new Lsn(10_001), null, null, new Lsn(20_001));
    }
}
