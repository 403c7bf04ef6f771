package io.deltaforge.nats;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Makes batches of change events with distinct, deterministic ids, for sink tests. */
final class Batches {
    static final TableId USERS = TableId.parse("public.users");
    private static final List<String> COLUMNS = List.of("id", "name");
    private final String sourceId;
    private long lsn = 1000;
    private long sequence;

    Batches() {
        this("users-postgres");
    }

    /** Events of source {@code sourceId}, from commit LSN 1000 on. */
    Batches(String sourceId) {
        this.sourceId = sourceId;
    }

    Batch batch(int size) {
        return batch(USERS, Op.CREATE, size, null);
    }

    Batch batch(TableId table, Op op, int size, byte[] payload) {
        List<ChangeEvent> events = new ArrayList<>();
        List<Message> messages = new ArrayList<>();
        Lsn commit = new Lsn(lsn++);
        for (int i = 0; i < size; i++) {
            String id = EventIds.forChange(sourceId, commit, i);
            events.add(new ChangeEvent(id, sourceId, op, table, null, Row.of(COLUMNS, (long) i, "n" + i),
                    new SourcePosition(commit, commit, i, 7, Instant.parse("2025-01-15T10:30:00Z"))));
            byte[] body = payload != null ? payload : ("{\"id\":\"" + id + "\"}").getBytes(StandardCharsets.UTF_8);
            messages.add(new Message(id, Map.of(), "application/cloudevents+json", body));
        }
        return new Batch(++sequence, events, messages);
    }

    /** The batch (one whole transaction) with its BEGIN before and its END after its events. */
    static Batch withMarkers(Batch batch) {
        ChangeEvent first = batch.events().get(0);
        List<Batch.Marker> markers = new ArrayList<>();
        for (io.deltaforge.spi.TransactionMarker.Kind kind : io.deltaforge.spi.TransactionMarker.Kind.values()) {
            var marker = new io.deltaforge.spi.TransactionMarker(kind, first.sourceId(), 7,
                    first.position().commitLsn(), first.position().lsn(), first.position().commitTime(), null,
                    0, Map.of());
            markers.add(new Batch.Marker(kind == io.deltaforge.spi.TransactionMarker.Kind.BEGIN ? 0 : batch.size(),
                    marker, new Message(marker.id(), Map.of(), "application/json",
                    ("{\"status\":\"" + kind + "\"}").getBytes(StandardCharsets.UTF_8))));
        }
        return new Batch(batch.sequence(), batch.events(), batch.messages(), false, markers);
    }
}
