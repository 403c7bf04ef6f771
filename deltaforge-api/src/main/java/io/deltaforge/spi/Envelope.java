package io.deltaforge.spi;

import io.deltaforge.api.ChangeEvent;
import org.jspecify.annotations.Nullable;

/**
 * Turns a change event into the bytes consumers read: CloudEvents, Debezium-shaped or native JSON, or a
 * format of your own.
 *
 * <p>Implementations must be thread-safe and pure: the same event always gives an equal message, and the
 * message id must be {@link ChangeEvent#id()} so that replays de-duplicate (or another id that is a pure
 * function of the event, such as an outbox row's own id).
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

    /**
     * Whether this envelope publishes the event at all; default true. An event it does not publish (the
     * outbox envelope's deletes, say) is not encoded and not sent to the sink, yet counts as delivered, so
     * the source's position moves past it as past a filtered event. Must be pure, like {@link #encode}.
     */
    @Incubating
    default boolean publishes(ChangeEvent event) {
        return true;
    }

    /**
     * The message that marks a transaction's start or end (Debezium's BEGIN and END events), or null (the default)
     * for none. The engine asks once per marker and sink, in log order, and sends the message in the batch with
     * the transaction's events ({@link Batch#markers()}); a sink that does not know markers ignores them. The
     * message id must be {@link TransactionMarker#id()}, and the message should name its {@link Message#subject()}
     * only when the marker belongs on one of the envelope's own; sinks route markers to their transaction
     * subject otherwise. Must be pure, like {@link #encode}.
     */
    @Incubating
    default @Nullable Message transactionMarker(TransactionMarker marker) {
        return null;
    }
}
