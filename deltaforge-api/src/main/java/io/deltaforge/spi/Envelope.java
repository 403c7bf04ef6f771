package io.deltaforge.spi;

import io.deltaforge.api.ChangeEvent;

/**
 * Turns a change event into the bytes consumers read: CloudEvents, Debezium-shaped or native JSON, or a
 * format of your own.
 *
 * <p>Implementations must be thread-safe and pure: the same event always gives an equal message, and the
 * message id must be {@link ChangeEvent#id()} so that replays de-duplicate.
 *
 * <pre>{@code
 * Envelope lines = event -> new Message(event.id(), Map.of(), "text/plain",
 *         event.toString().getBytes(StandardCharsets.UTF_8));
 * }</pre>
 */
@FunctionalInterface
public interface Envelope {
    /** Encodes one event; throws {@link io.deltaforge.api.DeltaforgeException} for a value it cannot encode. */
    Message encode(ChangeEvent event);
}
