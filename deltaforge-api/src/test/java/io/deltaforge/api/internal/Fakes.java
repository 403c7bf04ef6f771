package io.deltaforge.api.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.SnapshotRequest;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import org.jspecify.annotations.Nullable;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.Sink;
import io.deltaforge.spi.Source;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** Hand-driven source and sinks for engine unit tests; real-server tests live in the other modules. */
final class Fakes {
    private Fakes() {
    }

    static final Envelope TEXT = e -> new Message(e.id(), Map.of(), "text/plain",
            (e.table() + ":" + e.op().code() + ":" + e.position().indexInTx()).getBytes(StandardCharsets.UTF_8));

    /** As {@link #TEXT}, with transaction markers: {@code BEGIN} / {@code END <count> <per table>}. */
    static final Envelope MARKING = new Envelope() {
        @Override
        public Message encode(ChangeEvent event) {
            return TEXT.encode(event);
        }

        @Override
        public Message transactionMarker(io.deltaforge.spi.TransactionMarker marker) {
            String text = marker.kind() == io.deltaforge.spi.TransactionMarker.Kind.BEGIN ? "BEGIN " + marker.lsn()
                    : "END " + marker.eventCount() + " " + marker.eventsPerTable();
            return new Message(marker.id(), Map.of(), "text/plain", text.getBytes(StandardCharsets.UTF_8));
        }
    };

    /** A transaction of {@code n} inserts committing at {@code commitLsn}, followed by its commit. */
    static List<SourceRecord> tx(long xid, long commitLsn, int n) {
        List<SourceRecord> out = new ArrayList<>();
        Instant now = Instant.parse("2025-01-15T10:30:00Z");
        for (int i = 0; i < n; i++) {
            SourcePosition pos = new SourcePosition(new Lsn(commitLsn), new Lsn(commitLsn - n + i), i, xid, now);
            out.add(new ChangeEvent(EventIds.forChange("src", pos.commitLsn(), i), "src", Op.CREATE,
                    new TableId("public", "t"), null, Row.of(List.of("id"), (long) i), pos));
        }
        out.add(new TransactionCommit(xid, new Lsn(commitLsn), new Lsn(commitLsn + 1), now, n));
        return out;
    }

    static class FakeSource implements Source {
        final LinkedBlockingQueue<SourceRecord> records = new LinkedBlockingQueue<>();
        final List<Lsn> acknowledged = new CopyOnWriteArrayList<>();
        final List<SnapshotRequest> snapshots = new CopyOnWriteArrayList<>();
        volatile @Nullable MeterRegistry metricsRegistry;
        volatile boolean closed;
        volatile int starts;

        @Override
        public void requestSnapshot(SnapshotRequest request) {
            snapshots.add(request);
        }

        @Override
        public void bindMetrics(MeterRegistry registry, Tags tags) {
            metricsRegistry = registry;
        }

        @Override
        public String id() {
            return "src";
        }

        @Override
        public void start() {
            starts++;
        }

        @Override
        public SourceRecord poll(Duration timeout) throws InterruptedException {
            return records.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public void acknowledge(Lsn position) {
            acknowledged.add(position);
        }

        Lsn lastAck() {
            return acknowledged.isEmpty() ? null : acknowledged.get(acknowledged.size() - 1);
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    /** A sink whose answer per batch is chosen by the test: by default it confirms at once. */
    static class FakeSink implements Sink {
        final String id;
        final List<Batch> sent = new CopyOnWriteArrayList<>();
        final List<CompletableFuture<Void>> stages = new CopyOnWriteArrayList<>();
        volatile Function<Batch, CompletionStage<Void>> behaviour = b -> CompletableFuture.completedFuture(null);
        volatile boolean closed;

        FakeSink(String id) {
            this.id = id;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public CompletionStage<Void> send(Batch batch) {
            sent.add(batch);
            CompletionStage<Void> stage = behaviour.apply(batch);
            stages.add(stage.toCompletableFuture());
            return stage;
        }

        List<String> deliveredIds() {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < sent.size(); i++) {
                CompletableFuture<Void> f = stages.get(i);
                if (f.isDone() && !f.isCompletedExceptionally()) {
                    sent.get(i).messages().forEach(m -> ids.add(m.id()));
                }
            }
            return ids;
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
