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
import io.deltaforge.spi.TransactionCommit;
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
            (count, events, messages, markers, checkpoint, continues) -> emitted.add(new Emitted(
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
                (count, events, messages, markers, checkpoint, continues) -> {
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
                (count, events, messages, markers, checkpoint, continues) -> emitted.add(new Emitted(
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
                List.of(Fakes.TEXT), List.of(EventFilter.ALL), (count, events, messages, markers, checkpoint, continues) -> {
                    sizes.add(events.get(0).size());
                    continuing.add(continues);
                    checkpoints.add(checkpoint);
                }, true, "src");
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

    private record Sent(List<String> events, List<String> markers, @Nullable Lsn checkpoint) {
    }

    /** Each sink's batches: event ids and markers as "position:text". */
    private static Batcher marking(List<Envelope> envelopes, List<EventFilter> filters, int maxEvents, boolean parts,
                                   List<List<Sent>> out) {
        envelopes.forEach(e -> out.add(new ArrayList<>()));
        return new Batcher(new BatchConfig(maxEvents, 1 << 20, Duration.ofSeconds(1), true), EventFilter.ALL, envelopes,
                filters, (count, events, messages, markers, checkpoint, continues) -> {
                    for (int s = 0; s < envelopes.size(); s++) {
                        out.get(s).add(new Sent(events.get(s).stream().map(ChangeEvent::id).toList(),
                                markers.get(s).stream().map(m -> m.position() + ":"
                                        + new String(m.message().payload(), java.nio.charset.StandardCharsets.UTF_8))
                                        .toList(), checkpoint));
                    }
                }, parts, "src");
    }

    @Test
    void anEnvelopeWithTransactionMarkersGetsBeginBeforeAndEndAfterEachTransactionWithItsPublishedCounts()
            throws Exception {
        List<List<Sent>> out = new ArrayList<>();
        EventFilter firstTwo = e -> e.position().indexInTx() < 2 ? e : null;
        Batcher b = marking(List.of(Fakes.MARKING, Fakes.MARKING, Fakes.TEXT),
                List.of(EventFilter.ALL, firstTwo, EventFilter.ALL), 500, false, out);
        List<SourceRecord> first = tx(1, 100, 3);
        for (SourceRecord r : first) {
            b.add(r);
        }
        for (SourceRecord r : tx(2, 200, 1)) {
            b.add(r);
        }
        b.flushIdle();

        assertThat(out.get(0)).hasSize(1);
        assertThat(out.get(0).get(0).events()).hasSize(4);
        // BEGIN names the first change's LSN (commit LSN - n + 0); END counts what the sink publishes, per table.
        assertThat(out.get(0).get(0).markers()).containsExactly("0:BEGIN 0/61", "3:END 3 {public.t=3}",
                "3:BEGIN 0/C7", "4:END 1 {public.t=1}");
        assertThat(out.get(1).get(0).markers()).containsExactly("0:BEGIN 0/61", "2:END 2 {public.t=2}",
                "2:BEGIN 0/C7", "3:END 1 {public.t=1}");
        assertThat(out.get(2).get(0).markers()).as("an envelope without markers gets none").isEmpty();
        assertThat(out.get(2).get(0).events()).hasSize(4);
        assertThat(out.get(0).get(0).checkpoint()).isEqualTo(new Lsn(201));
    }

    @Test
    void aTransactionWhoseEventsAreAllFilteredOutStillHasBeginAndEndAsDebeziumWrites() throws Exception {
        List<List<Sent>> out = new ArrayList<>();
        Batcher b = marking(List.of(Fakes.MARKING), List.of(e -> null), 500, false, out);
        for (SourceRecord r : tx(1, 100, 2)) {
            b.add(r);
        }
        // No event reached the engine at all (the source's own table filter): BEGIN is made at the commit.
        b.add(new TransactionCommit(2, new Lsn(200), new Lsn(201), java.time.Instant.EPOCH, 0));
        b.flushIdle();

        assertThat(out.get(0)).singleElement().satisfies(sent -> {
            assertThat(sent.events()).isEmpty();
            assertThat(sent.markers()).containsExactly("0:BEGIN 0/62", "0:END 0 {}", "0:BEGIN 0/C8", "0:END 0 {}");
            assertThat(sent.checkpoint()).isEqualTo(new Lsn(201));
        });
    }

    @Test
    void noMarkersForWhatIsNoSourceTransaction() throws Exception {
        List<List<Sent>> out = new ArrayList<>();
        Batcher b = marking(List.of(Fakes.MARKING), List.of(EventFilter.ALL), 500, false, out);
        for (SourceRecord r : tx(0, 100, 2)) {
            b.add(r);
        }
        b.flushIdle();

        assertThat(out.get(0)).singleElement().satisfies(sent -> {
            assertThat(sent.events()).hasSize(2);
            assertThat(sent.markers()).isEmpty();
        });
    }

    @Test
    void aTransactionInPartsHasItsBeginInTheFirstAndItsEndInTheLast() throws Exception {
        List<List<Sent>> out = new ArrayList<>();
        Batcher b = marking(List.of(Fakes.MARKING), List.of(EventFilter.ALL), 500, true, out);
        for (SourceRecord r : tx(7, 10_000, 2_300)) {
            b.add(r);
        }
        b.flushIdle();

        assertThat(out.get(0)).extracting(sent -> sent.events().size()).containsExactly(1000, 1000, 300);
        assertThat(out.get(0)).extracting(Sent::markers).containsExactly(List.of("0:BEGIN 0/1E14"), List.of(),
                List.of("300:END 2300 {public.t=2300}"));
    }

    @Test
    void aSourceRestartMakesTheOpenTransactionsBeginAgain() throws Exception {
        List<List<Sent>> out = new ArrayList<>();
        Batcher b = marking(List.of(Fakes.MARKING), List.of(EventFilter.ALL), 500, false, out);
        List<SourceRecord> records = tx(1, 100, 3);
        b.add(records.get(0));
        b.sourceRestarted();
        for (SourceRecord r : records) {
            b.add(r);
        }
        b.flushIdle();

        assertThat(out.get(0)).singleElement().extracting(Sent::markers)
                .isEqualTo(List.of("0:BEGIN 0/61", "3:END 3 {public.t=3}"));
    }
}
