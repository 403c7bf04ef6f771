package io.deltaforge.envelopes.internal;

import io.deltaforge.api.TableId;
import io.deltaforge.envelopes.OutboxEnvelope;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.ProviderConfig;
import java.util.function.Consumer;

/**
 * The {@code outbox} envelope. Keys: {@code table} ({@code schema.table} of the outbox table; default every
 * table), {@code subject} (template, default {@value OutboxEnvelope#DEFAULT_SUBJECT}), {@code content_type}
 * (default by the payload column's type) and the column names {@code id_column}, {@code aggregate_type_column},
 * {@code aggregate_id_column}, {@code type_column}, {@code payload_column} (defaults {@code id},
 * {@code aggregatetype}, {@code aggregateid}, {@code type}, {@code payload}).
 */
public final class OutboxEnvelopeProvider implements EnvelopeProvider {
    public OutboxEnvelopeProvider() {
    }

    @Override
    public String type() {
        return "outbox";
    }

    @Override
    public Envelope create(ProviderConfig config) {
        OutboxEnvelope.Builder b = OutboxEnvelope.builder();
        String table = config.string("table");
        if (table != null) {
            b.table(TableId.parse(table));
        }
        column(config, "id_column", b::idColumn);
        column(config, "aggregate_type_column", b::aggregateTypeColumn);
        column(config, "aggregate_id_column", b::aggregateIdColumn);
        column(config, "type_column", b::typeColumn);
        column(config, "payload_column", b::payloadColumn);
        b.subject(config.string("subject", OutboxEnvelope.DEFAULT_SUBJECT));
        b.contentType(config.string("content_type"));
        OutboxEnvelope envelope = null;
        try {
            envelope = b.build();
        } catch (IllegalArgumentException e) {
            config.problem("subject", e.getMessage());
        }
        config.throwIfInvalid();
        return envelope;
    }

    private static void column(ProviderConfig config, String key, Consumer<String> setter) {
        String name = config.string(key);
        if (name == null) {
            return;
        }
        if (name.isBlank()) {
            config.problem(key, "is blank; name a column of the outbox table or leave the key out");
        } else {
            setter.accept(name);
        }
    }
}
