package io.deltaforge.nats.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AtomicBatchesTest {
    private final List<ChangeEvent> events = new ArrayList<>();

    private void transaction(String source, long commit, int from, int to) {
        for (int i = from; i < to; i++) {
            Lsn lsn = new Lsn(commit);
            events.add(new ChangeEvent(EventIds.forChange(source, lsn, i), source, Op.CREATE, TableId.parse("public.t"),
                    null, Row.of(List.of("id"), (long) i), new SourcePosition(lsn, lsn, i, 1, Instant.EPOCH)));
        }
    }

    private Batch batch(boolean continues) {
        List<Message> messages = events.stream().map(e -> new Message(e.id(), Map.of(), "application/json",
                new byte[0])).toList();
        return new Batch(1, events, messages, continues);
    }

    @Test
    void eachTransactionIsOneAtomicBatchPerPartOfAThousandEvents() {
        transaction("pg", 100, 0, 3);
        transaction("pg", 200, 0, 1);
        transaction("other", 200, 0, 2);
        transaction("pg", 300, 0, 2000);
        transaction("pg", 400, 1000, 1500);

        List<AtomicBatches.Piece> pieces = AtomicBatches.pieces(batch(true), true, "sink s", 36);

        assertThat(pieces).extracting(AtomicBatches.Piece::size).containsExactly(3, 1, 2, 1000, 1000, 500);
        assertThat(pieces).extracting(AtomicBatches.Piece::part).containsExactly(1, 1, 1, 1, 2, 2);
        assertThat(pieces).extracting(AtomicBatches.Piece::lastPart)
                .containsExactly(true, true, true, false, true, false);
        assertThat(pieces).extracting(AtomicBatches.Piece::split)
                .containsExactly(false, false, false, true, true, true);
        assertThat(pieces).extracting(AtomicBatches.Piece::single)
                .containsExactly(false, true, false, false, false, false);
        assertThat(pieces.get(3).id()).isEqualTo("pg@0/12C#1.10");
        assertThat(pieces.get(5).id()).isEqualTo("pg@0/190#2.10");
    }

    @Test
    void withOversizeFailATransactionOfSeveralPartsFailsNamingIt() {
        transaction("pg", 100, 0, 2);
        transaction("pg", 300, 0, 1001);

        assertThatThrownBy(() -> AtomicBatches.pieces(batch(false), false, "sink s", 1))
                .isInstanceOf(DeltaforgeException.class).hasMessageContaining("LSN 0/12C")
                .hasMessageContaining("set oversize: split");
    }

    @Test
    void batchIdsNameTheTransactionsPartAndTheAttemptWithinTheServersSixtyFourCharacters() {
        String longSource = "a-source-id-with-a-rather-long-name and spaces/" + "x".repeat(100);
        Lsn biggest = new Lsn(-1L);
        String id = AtomicBatches.batchId(longSource, biggest, Integer.MAX_VALUE / 1000 + 1, -1L);

        assertThat("e" + id).hasSizeLessThanOrEqualTo(64);
        assertThat(id).doesNotContain(" ")
                .isEqualTo(AtomicBatches.batchId(longSource, biggest, Integer.MAX_VALUE / 1000 + 1, -1L))
                .isNotEqualTo(AtomicBatches.batchId(longSource + "2", biggest, Integer.MAX_VALUE / 1000 + 1, -1L));
        String plain = AtomicBatches.batchId("a-plain-source-id-of-24c", biggest, Integer.MAX_VALUE / 1000 + 1, -1L);
        assertThat("e" + plain).hasSizeLessThanOrEqualTo(64);
        assertThat(AtomicBatches.batchId("users-postgres", new Lsn(0x16B3748), 1, 35))
                .isEqualTo("users-postgres@0/16B3748#1.z")
                .isNotEqualTo(AtomicBatches.batchId("users-postgres", new Lsn(0x16B3748), 1, 36));
    }
}
