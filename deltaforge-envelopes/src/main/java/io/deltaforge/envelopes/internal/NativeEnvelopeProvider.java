package io.deltaforge.envelopes.internal;

import io.deltaforge.envelopes.NativeEnvelope;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.ProviderConfig;

/**
 * The {@code native} envelope. Key: {@code database} (optional; the {@code source.db} value, left out
 * when not set).
 */
public final class NativeEnvelopeProvider implements EnvelopeProvider {
    public NativeEnvelopeProvider() {
    }

    @Override
    public String type() {
        return "native";
    }

    @Override
    public Envelope create(ProviderConfig config) {
        String database = config.string("database");
        if (database != null && database.isBlank()) {
            config.problem("database", "is blank; set the database name or leave the key out");
        }
        config.throwIfInvalid();
        return NativeEnvelope.builder().database(database).build();
    }
}
