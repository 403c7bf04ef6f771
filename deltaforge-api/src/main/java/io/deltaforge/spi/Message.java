package io.deltaforge.spi;

import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One encoded event, ready for a sink: what an {@link Envelope} makes of a
 * {@link io.deltaforge.api.ChangeEvent}.
 *
 * @param id          the event id; sinks that de-duplicate use it (NATS: {@code Nats-Msg-Id})
 * @param headers     headers to send with the payload (for example CloudEvents binary-mode
 *                    {@code ce-*} attributes); never null, often empty
 * @param contentType the payload's media type, e.g. {@code application/cloudevents+json}
 * @param payload     the body; not copied, and must not be changed after construction
 * @param subject     where the envelope routes this message (for example the outbox envelope's
 *                    {@code outbox.{aggregatetype}}), used by sinks that publish to subjects in place of
 *                    their own; null (usual) leaves the choice to the sink. A sink fails the batch on a
 *                    subject it cannot publish to (NATS: non-empty literal tokens, no whitespace or control
 *                    characters)
 */
public record Message(String id, Map<String, String> headers, String contentType, byte[] payload,
                      @Incubating @Nullable String subject) {
    public Message {
        Objects.requireNonNull(id, "id");
        headers = Map.copyOf(headers);
        Objects.requireNonNull(contentType, "contentType");
        Objects.requireNonNull(payload, "payload");
    }

    /** A message the sink routes as it routes every other. */
    public Message(String id, Map<String, String> headers, String contentType, byte[] payload) {
        this(id, headers, contentType, payload, null);
    }
}
