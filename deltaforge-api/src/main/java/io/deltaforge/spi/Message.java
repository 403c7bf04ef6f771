package io.deltaforge.spi;

import java.util.Map;
import java.util.Objects;

/**
 * One encoded event, ready for a sink: what an {@link Envelope} makes of a
 * {@link io.deltaforge.api.ChangeEvent}.
 *
 * @param id          the event id; sinks that de-duplicate use it (NATS: {@code Nats-Msg-Id})
 * @param headers     headers to send with the payload (for example CloudEvents binary-mode
 *                    {@code ce-*} attributes); never null, often empty
 * @param contentType the payload's media type, e.g. {@code application/cloudevents+json}
 * @param payload     the body; not copied, and must not be changed after construction
 */
public record Message(String id, Map<String, String> headers, String contentType, byte[] payload) {
    public Message {
        Objects.requireNonNull(id, "id");
        headers = Map.copyOf(headers);
        Objects.requireNonNull(contentType, "contentType");
        Objects.requireNonNull(payload, "payload");
    }
}
