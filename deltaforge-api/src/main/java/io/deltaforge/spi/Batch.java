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
 * @param sequence             a number that grows by one per batch of a pipeline run, for logs
 * @param transactionContinues the last event's transaction goes on in the next batch (the engine split a
 *                             transaction bigger than a batch); false when the batch ends with a whole
 *                             transaction (or part of one a filter left empty afterwards)
 */
public record Batch(long sequence, List<ChangeEvent> events, List<Message> messages, boolean transactionContinues) {
    /**
     * Events per part of a transaction bigger than a batch: the engine splits such a transaction only where
     * {@code indexInTx % TRANSACTION_PART == 0}. JetStream accepts at most 1,000 messages in one atomic batch.
     */
    public static final int TRANSACTION_PART = 1000;

    /** A batch whose last transaction ends in it. */
    public Batch(long sequence, List<ChangeEvent> events, List<Message> messages) {
        this(sequence, events, messages, false);
    }

    public Batch {
        events = List.copyOf(events);
        messages = List.copyOf(messages);
        if (events.size() != messages.size()) {
            throw new IllegalArgumentException(
                    "events has " + events.size() + " entries but messages has " + messages.size());
        }
    }

    public int size() {
        return events.size();
    }
}
