package io.deltaforge.api.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Lsn;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.Sink;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ids of events and transaction markers a sink proved it holds ({@code Sink.storedSince}) that have not
 * come by yet: each is left out of the batches sent to the sink once. Used by one {@link SinkDriver}'s thread.
 */
final class HeldBySink {
    private static final Logger log = LoggerFactory.getLogger(HeldBySink.class);
    private Set<String> held = new HashSet<>();

    /**
     * Asks the sink which events from the batch's transaction on it holds.
     *
     * @throws RuntimeException whatever the sink's {@code storedSince} throws; nothing is held then
     */
    void ask(Sink sink, String sinkId, Batch batch) {
        held = new HashSet<>();
        // A batch may hold only the markers of a transaction whose events all were filtered out.
        boolean markerFirst = batch.events().isEmpty()
                || !batch.markers().isEmpty() && batch.markers().get(0).position() == 0;
        String sourceId = markerFirst ? batch.markers().get(0).marker().sourceId() : batch.events().get(0).sourceId();
        Lsn commitLsn = markerFirst ? batch.markers().get(0).marker().commitLsn()
                : batch.events().get(0).position().commitLsn();
        held = new HashSet<>(Objects.requireNonNull(sink.storedSince(sourceId, commitLsn),
                "Sink.storedSince returned null"));
        if (!held.isEmpty()) {
            log.info("sink '{}' already holds {} event(s) of source '{}' from commit LSN {} on; they are not sent"
                    + " to it again", sinkId, held.size(), sourceId, commitLsn);
        }
    }

    /** The batch without the events and transaction markers the sink holds. */
    Batch without(Batch batch) {
        if (held.isEmpty()) {
            return batch;
        }
        List<ChangeEvent> events = new ArrayList<>(batch.size());
        List<Message> messages = new ArrayList<>(batch.size());
        List<Batch.Marker> markers = new ArrayList<>(batch.markers().size());
        int m = 0;
        for (int i = 0; i <= batch.size(); i++) {
            for (; m < batch.markers().size() && batch.markers().get(m).position() == i; m++) {
                Batch.Marker marker = batch.markers().get(m);
                if (!held.remove(marker.message().id())) {
                    markers.add(new Batch.Marker(events.size(), marker.marker(), marker.message()));
                }
            }
            if (i < batch.size() && !held.remove(batch.events().get(i).id())) {
                events.add(batch.events().get(i));
                messages.add(batch.messages().get(i));
            }
        }
        if (events.size() == batch.size() && markers.size() == batch.markers().size()) {
            return batch;
        }
        return new Batch(batch.sequence(), events, messages, stillContinues(batch, events), markers);
    }

    /**
     * Whether what is left of {@code batch} ({@code kept}) still ends inside the transaction that goes on in the
     * next batch: only if some of that transaction is left.
     */
    static boolean stillContinues(Batch batch, List<ChangeEvent> kept) {
        if (!batch.transactionContinues() || kept.isEmpty()) {
            return false;
        }
        ChangeEvent last = batch.events().get(batch.size() - 1);
        ChangeEvent keptLast = kept.get(kept.size() - 1);
        return keptLast.position().commitLsn().equals(last.position().commitLsn())
                && keptLast.sourceId().equals(last.sourceId());
    }
}
