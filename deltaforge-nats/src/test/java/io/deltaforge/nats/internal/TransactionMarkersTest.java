package io.deltaforge.nats.internal;

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
import io.deltaforge.spi.TransactionMarker;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TransactionMarkersTest {
    private final List<ChangeEvent> events = new ArrayList<>();
    private final List<Batch.Marker> markers = new ArrayList<>();

    private void transaction(long commit, int n, boolean begin, boolean end) {
        Lsn lsn = new Lsn(commit);
        if (begin) {
            marker(TransactionMarker.Kind.BEGIN, lsn);
        }
        for (int i = 0; i < n; i++) {
            events.add(new ChangeEvent(EventIds.forChange("pg", lsn, i), "pg", Op.CREATE, TableId.parse("public.t"),
                    null, Row.of(List.of("id"), (long) i), new SourcePosition(lsn, lsn, i, 7, Instant.EPOCH)));
        }
        if (end) {
            marker(TransactionMarker.Kind.END, lsn);
        }
    }

    private void marker(TransactionMarker.Kind kind, Lsn commit) {
        TransactionMarker m = new TransactionMarker(kind, "pg", 7, commit, commit, Instant.EPOCH, null, 0, Map.of());
        markers.add(new Batch.Marker(events.size(), m, new Message(m.id(), Map.of(), "application/json",
                kind.name().getBytes(StandardCharsets.UTF_8))));
    }

    private Batch batch() {
        List<Message> messages = events.stream().map(e -> new Message(e.id(), Map.of(), "application/json",
                new byte[0])).toList();
        return new Batch(1, events, messages, false, markers);
    }

    @Test
    void markersGoAmongTheEventsAtTheirPlaceOnTheTransactionSubject() {
        transaction(100, 2, true, true);
        transaction(200, 0, true, true);

        Batch inlined = TransactionMarkers.inline(batch(), "cdc.transaction");

        assertThat(inlined.markers()).isEmpty();
        assertThat(inlined.messages()).extracting(Message::subject)
                .containsExactly("cdc.transaction", null, null, "cdc.transaction", "cdc.transaction", "cdc.transaction");
        assertThat(inlined.messages().get(0).id()).isEqualTo(EventIds.forTransactionMarker("pg", new Lsn(100), true));
        assertThat(inlined.events()).extracting(e -> e.position().commitLsn().value())
                .containsExactly(100L, 100L, 100L, 100L, 200L, 200L);
    }

    @Test
    void asAtomicBatchesBeginAndEndGoWithTheirTransactionsFirstAndLastPart() {
        transaction(100, 3, true, true);
        transaction(200, 0, true, true);

        List<AtomicBatches.Piece> pieces = AtomicBatches.pieces(TransactionMarkers.inline(batch(), "cdc.transaction"),
                true, "sink s", 1);

        assertThat(pieces).extracting(AtomicBatches.Piece::size).containsExactly(5, 2);
        assertThat(pieces).extracting(AtomicBatches.Piece::split).containsExactly(false, false);
    }

    @Test
    void aWholePartWithItsMarkersKeepsItsEventsInOneAtomicBatchAndSendsEachMarkerAsOneOfItsOwn() {
        transaction(100, 1000, true, true);

        List<AtomicBatches.Piece> pieces = AtomicBatches.pieces(TransactionMarkers.inline(batch(), "cdc.transaction"),
                false, "sink s", 1);

        assertThat(pieces).extracting(AtomicBatches.Piece::size).containsExactly(1, 1000, 1);
        assertThat(pieces).extracting(AtomicBatches.Piece::marker).containsExactly(true, false, true);
        assertThat(pieces).as("markers go as atomic batches too, never overtaking the events").noneMatch(AtomicBatches.Piece::single);
        assertThat(pieces).noneMatch(AtomicBatches.Piece::split);
    }

    @Test
    void aPartOfASplitTransactionKeepsItsMarkerInItsAtomicBatchWhileThereIsRoom() {
        transaction(100, 999, true, false);

        List<AtomicBatches.Piece> pieces = AtomicBatches.pieces(TransactionMarkers.inline(batch(), "cdc.transaction"),
                true, "sink s", 1);

        assertThat(pieces).extracting(AtomicBatches.Piece::size).containsExactly(1000);
    }
}
