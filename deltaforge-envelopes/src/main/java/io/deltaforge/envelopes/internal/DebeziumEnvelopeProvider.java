package io.deltaforge.envelopes.internal;

import io.deltaforge.envelopes.DebeziumEnvelope;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.ProviderConfig;

/**
 * The {@code debezium} envelope. Keys: {@code schema_wrapper} (boolean, default false: wrap as
 * {@code {"schema":null,"payload":...}}), {@code database} (the {@code source.db} value, default empty).
 */
public final class DebeziumEnvelopeProvider implements EnvelopeProvider {
    public DebeziumEnvelopeProvider() {
    }

    @Override
    public String type() {
        return "debezium";
    }

    @Override
    public Envelope create(ProviderConfig config) {
        boolean wrapper = config.bool("schema_wrapper", false);
        String database = config.string("database", "");
        config.throwIfInvalid();
        return DebeziumEnvelope.builder().schemaWrapper(wrapper).database(database).build();
    }
}
