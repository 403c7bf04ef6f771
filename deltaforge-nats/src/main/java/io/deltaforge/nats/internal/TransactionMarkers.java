package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Op;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.TransactionMarker;
import java.util.ArrayList;
import java.util.List;

/**
 * Puts a batch's transaction markers among its events, each as a message on the transaction subject with a
 * stand-in event, so that every publish path (one by one, atomic batches, the stored-events scan by the
 * {@code DeltaForge-Origin} header) handles them as it handles events. A stand-in carries the marker's id, source,
 * transaction and, for the division into atomic batches, the index of the transaction's part it goes with:
 * BEGIN the first, END the part of the transaction's event before it in the batch.
 */
final class TransactionMarkers {
    private static final TableId BEGIN = new TableId("", "transaction BEGIN");
    private static final TableId END = new TableId("", "transaction END");

    private TransactionMarkers() {
    }

    /** Whether the event is a marker's stand-in (not a logical message that happens to look like one). */
    static boolean isMarker(ChangeEvent event) {
        return event.table() == BEGIN || event.table() == END;
    }

    /** The batch with its markers as messages among the events; the batch itself when it has none. */
    static Batch inline(Batch batch, String subject) {
        List<Batch.Marker> markers = batch.markers();
        if (markers.isEmpty()) {
            return batch;
        }
        int size = batch.size() + markers.size();
        List<ChangeEvent> events = new ArrayList<>(size);
        List<Message> messages = new ArrayList<>(size);
        int m = 0;
        for (int i = 0; i <= batch.size(); i++) {
            for (; m < markers.size() && markers.get(m).position() == i; m++) {
                Batch.Marker marker = markers.get(m);
                events.add(standIn(marker.marker(), marker.message(), partIndex(marker.marker(), events)));
                Message message = marker.message();
                messages.add(new Message(message.id(), message.headers(), message.contentType(), message.payload(),
                        subject));
            }
            if (i < batch.size()) {
                events.add(batch.events().get(i));
                messages.add(batch.messages().get(i));
            }
        }
        return new Batch(batch.sequence(), events, messages, batch.transactionContinues());
    }

    private static int partIndex(TransactionMarker marker, List<ChangeEvent> before) {
        if (marker.kind() == TransactionMarker.Kind.BEGIN || before.isEmpty()) {
            return 0;
        }
        ChangeEvent previous = before.get(before.size() - 1);
        boolean same = previous.sourceId().equals(marker.sourceId())
                && previous.position().commitLsn().equals(marker.commitLsn());
        return same ? previous.position().indexInTx() : 0;
    }

    private static ChangeEvent standIn(TransactionMarker marker, Message message, int indexInTx) {
        SourcePosition position = new SourcePosition(marker.commitLsn(), marker.lsn(), indexInTx, marker.xid(),
                marker.commitTime());
        return new ChangeEvent(message.id(), marker.sourceId(), Op.MESSAGE,
                marker.kind() == TransactionMarker.Kind.BEGIN ? BEGIN : END, null, null, position);
    }
}
