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
 * @param sequence a number that grows by one per batch of a pipeline run, for logs
 */
public record Batch(long sequence, List<ChangeEvent> events, List<Message> messages) {
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
