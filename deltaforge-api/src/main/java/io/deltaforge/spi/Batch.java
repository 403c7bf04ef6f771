package io.deltaforge.spi;

import io.deltaforge.api.ChangeEvent;
import java.util.List;

/**
 * Events handed to one sink in one call, with their encoded messages: {@code messages().get(i)} is the
 * encoding of {@code events().get(i)} by the sink's envelope. Events are in log order.
 *
 * <p>Sinks route by the event's metadata (table, op) and send the message; they never look inside the
 * payload.
 *
 * <p>Transactions: consecutive events with the same source id and commit LSN belong to one transaction.
 * With {@code respect_source_tx} (the default) the engine ends a batch inside a transaction only when that
 * transaction alone is bigger than a batch; for a sink that stores transactions in parts
 * ({@link Sink#storesTransactionParts()}, JetStream atomic batches), then only before an event whose
 * {@link io.deltaforge.api.SourcePosition#indexInTx() indexInTx} is a multiple of {@link #TRANSACTION_PART},
 * so that it always gets whole parts.
 *
 * <p>Transaction markers ({@code @Incubating}): when the sink's envelope writes them
 * ({@link Envelope#transactionMarker}), {@link #markers()} holds the BEGIN and END messages of the batch's
 * transactions, each at its place among the events. They are not events: {@link #size()} does not count them,
 * and a sink that does not know them may ignore them (they are then not delivered, which is all).
 *
 * @param sequence             a number that grows by one per batch of a pipeline run, for logs
 * @param transactionContinues the last event's transaction goes on in the next batch (the engine split a
 *                             transaction bigger than a batch); false when the batch ends with a whole
 *                             transaction (or part of one a filter left empty afterwards)
 * @param markers              transaction markers in log order, empty when the envelope writes none
 */
public record Batch(long sequence, List<ChangeEvent> events, List<Message> messages, boolean transactionContinues,
                    @Incubating List<Marker> markers) {
    /**
     * Events per part of a transaction bigger than a batch: the engine splits such a transaction only where
     * {@code indexInTx % TRANSACTION_PART == 0}. JetStream accepts at most 1,000 messages in one atomic batch.
     */
    public static final int TRANSACTION_PART = 1000;

    /** A batch whose last transaction ends in it. */
    public Batch(long sequence, List<ChangeEvent> events, List<Message> messages) {
        this(sequence, events, messages, false);
    }

    /** A batch without transaction markers. */
    public Batch(long sequence, List<ChangeEvent> events, List<Message> messages, boolean transactionContinues) {
        this(sequence, events, messages, transactionContinues, List.of());
    }

    public Batch {
        events = List.copyOf(events);
        messages = List.copyOf(messages);
        markers = List.copyOf(markers);
        if (events.size() != messages.size()) {
            throw new IllegalArgumentException(
                    "events has " + events.size() + " entries but messages has " + messages.size());
        }
        int previous = 0;
        for (Marker m : markers) {
            if (m.position() < previous || m.position() > events.size()) {
                throw new IllegalArgumentException("marker " + m.marker().kind() + " of commit LSN "
                        + m.marker().commitLsn() + " has position " + m.position() + "; positions must be in order"
                        + " and at most " + events.size());
            }
            previous = m.position();
        }
    }

    /**
     * A transaction marker with its message, sent after the batch's first {@code position} events and before
     * the others (after markers earlier in the list with the same position).
     *
     * @param position how many of the batch's events come before it
     * @param marker   what it marks
     * @param message  the envelope's message for it
     */
    @Incubating
    public record Marker(int position, TransactionMarker marker, Message message) {
        public Marker {
            java.util.Objects.requireNonNull(marker, "marker");
            java.util.Objects.requireNonNull(message, "message");
        }
    }

    /** Whether there is nothing to send: no events and no markers. */
    public boolean isEmpty() {
        return events.isEmpty() && markers.isEmpty();
    }

    public int size() {
        return events.size();
    }
}
