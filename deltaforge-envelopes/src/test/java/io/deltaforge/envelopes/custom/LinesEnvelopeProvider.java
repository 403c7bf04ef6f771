package io.deltaforge.envelopes.custom;

import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.ProviderConfig;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** A user's own envelope, as a user would write it: one text line per event, found by ServiceLoader. */
public final class LinesEnvelopeProvider implements EnvelopeProvider {
    public LinesEnvelopeProvider() {
    }

    @Override
    public String type() {
        return "lines";
    }

    @Override
    public Envelope create(ProviderConfig config) {
        String separator = config.string("separator", " ");
        config.throwIfInvalid();
        return event -> new Message(event.id(), Map.of("x-op", event.op().code()), "text/plain",
                (event.op().code() + separator + event.table() + separator + event.id()).getBytes(StandardCharsets.UTF_8));
    }
}
