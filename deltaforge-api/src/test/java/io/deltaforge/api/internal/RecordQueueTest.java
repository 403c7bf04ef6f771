package io.deltaforge.api.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Heartbeat;
import io.deltaforge.spi.SourceRecord;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RecordQueueTest {
    private static final int KIB = 1024;

    @Test
    void aRowGrowsItsEstimateByItsText() {
        long small = RecordQueue.estimate(event(1, "x"));
        long large = RecordQueue.estimate(event(2, "x".repeat(100 * KIB)));
        assertThat(large - small).isGreaterThanOrEqualTo(100 * KIB - 1);
        assertThat(RecordQueue.estimate(event(1, new RawJson("[" + "1,".repeat(KIB) + "1]"))))
                .isGreaterThan(2 * KIB);
        assertThat(RecordQueue.estimate(event(1, List.of("a".repeat(KIB), Map.of("k", "b".repeat(KIB))))))
                .isGreaterThan(2 * KIB);
    }

    /** Ten records and 400 KiB: records of more than 20 KiB share 200 KiB, the others are only counted. */
    private static RecordQueue tenRecordsOf400KiB() {
        return new RecordQueue(10, 400 * KIB);
    }

    @Test
    void theByteBoundStopsLargeRowsBeforeTheCountDoes() throws Exception {
        RecordQueue queue = tenRecordsOf400KiB();
        assertThat(queue.offer(event(1, "x".repeat(90 * KIB)), 0, TimeUnit.MILLISECONDS)).isTrue();
        assertThat(queue.offer(event(2, "x".repeat(90 * KIB)), 0, TimeUnit.MILLISECONDS)).isTrue();
        assertThat(queue.offer(event(3, "x".repeat(30 * KIB)), 50, TimeUnit.MILLISECONDS)).isFalse();
        assertThat(queue.size()).isEqualTo(2);
        // Small records are only counted, up to the count.
        for (int i = 0; i < 8; i++) {
            assertThat(queue.offer(event(10 + i, "y".repeat(10 * KIB)), 0, TimeUnit.MILLISECONDS)).isTrue();
        }
        assertThat(queue.offer(new Heartbeat(new Lsn(1)), 50, TimeUnit.MILLISECONDS)).isFalse();
        assertThat(queue.size()).isEqualTo(10);
    }

    @Test
    void takingRecordsWakesAWaitingProducer() throws Exception {
        RecordQueue queue = tenRecordsOf400KiB();
        assertThat(queue.offer(event(1, "x".repeat(150 * KIB)), 0, TimeUnit.MILLISECONDS)).isTrue();
        CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return queue.offer(event(2, "x".repeat(100 * KIB)), 30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(100);
        assertThat(waiting).isNotDone();
        ArrayDeque<SourceRecord> more = new ArrayDeque<>();
        assertThat(queue.poll(0, more, 16)).isInstanceOf(ChangeEvent.class);
        assertThat(waiting.get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(queue.size()).isEqualTo(1);
    }

    @Test
    void aRowLargerThanTheBoundPassesWhenNoOtherLargeOneIsQueued() throws Exception {
        RecordQueue queue = tenRecordsOf400KiB();
        assertThat(queue.offer(event(1, "x".repeat(1024 * KIB)), 0, TimeUnit.MILLISECONDS)).isTrue();
        assertThat(queue.offer(event(2, "y".repeat(30 * KIB)), 0, TimeUnit.MILLISECONDS)).isFalse();
        ArrayDeque<SourceRecord> more = new ArrayDeque<>();
        queue.poll(0, more, 16);
        assertThat(queue.offer(event(2, "y".repeat(30 * KIB)), 0, TimeUnit.MILLISECONDS)).isTrue();
    }

    @Test
    void aPollReleasesTheBytesOfEveryLargeRowItTakes() throws Exception {
        RecordQueue queue = tenRecordsOf400KiB();
        for (int i = 0; i < 4; i++) {
            assertThat(queue.offer(event(i, "z".repeat(45 * KIB)), 0, TimeUnit.MILLISECONDS)).isTrue();
        }
        assertThat(queue.offer(event(9, "z".repeat(45 * KIB)), 0, TimeUnit.MILLISECONDS)).isFalse();
        ArrayDeque<SourceRecord> more = new ArrayDeque<>();
        queue.poll(0, more, 2);
        assertThat(more).hasSize(2);
        assertThat(queue.size()).isEqualTo(1);
        // Three taken: room for three more beside the one left, and no fourth.
        for (int i = 0; i < 3; i++) {
            assertThat(queue.offer(event(10 + i, "z".repeat(45 * KIB)), 0, TimeUnit.MILLISECONDS)).isTrue();
        }
        assertThat(queue.offer(event(13, "z".repeat(45 * KIB)), 0, TimeUnit.MILLISECONDS)).isFalse();
        more.clear();
        queue.poll(0, more, 100);
        assertThat(queue.isEmpty()).isTrue();
        for (int i = 0; i < 4; i++) {
            assertThat(queue.offer(event(20 + i, "z".repeat(45 * KIB)), 0, TimeUnit.MILLISECONDS)).isTrue();
        }
    }

    private static ChangeEvent event(long id, Object body) {
        SourcePosition pos = new SourcePosition(new Lsn(100), new Lsn(90), 0, 7, Instant.EPOCH);
        return new ChangeEvent("e" + id, "src", Op.CREATE, new TableId("public", "t"), null,
                Row.of(List.of("id", "body"), id, body), pos);
    }
}
