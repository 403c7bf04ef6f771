package io.deltaforge.envelopes.internal;

import io.deltaforge.envelopes.DebeziumEnvelope;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.ProviderConfig;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * The {@code debezium} envelope. Keys: {@code provide_transaction_metadata} (boolean, default false: the
 * {@code transaction} block), {@code schemas_enable} (boolean, default false: Debezium's
 * {@code {"schema":...,"payload":...}}), {@code schema_wrapper} (boolean, default false: wrap as
 * {@code {"schema":null,"payload":...}}), {@code database} (the {@code source.db} value, default the event's
 * database), {@code value_encoding} ({@code debezium} | {@code lossless}) and Debezium's handling modes under
 * snake_case names: {@code decimal_handling_mode}, {@code time_precision_mode}, {@code binary_handling_mode},
 * {@code interval_handling_mode}, {@code hstore_handling_mode}, each with Debezium's values and defaults.
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
        DebeziumEnvelope.Builder b = DebeziumEnvelope.builder()
                .schemaWrapper(config.bool("schema_wrapper", false))
                .schemasEnable(config.bool("schemas_enable", false))
                .provideTransactionMetadata(config.bool("provide_transaction_metadata", false))
                .database(config.string("database", ""));
        choose(config, "value_encoding", DebeziumEnvelope.ValueEncoding.class, b::valueEncoding);
        choose(config, "decimal_handling_mode", DebeziumEnvelope.DecimalHandlingMode.class, b::decimalHandlingMode);
        choose(config, "time_precision_mode", DebeziumEnvelope.TimePrecisionMode.class, b::timePrecisionMode);
        choose(config, "binary_handling_mode", DebeziumEnvelope.BinaryHandlingMode.class, b::binaryHandlingMode);
        choose(config, "interval_handling_mode", DebeziumEnvelope.IntervalHandlingMode.class,
                b::intervalHandlingMode);
        choose(config, "hstore_handling_mode", DebeziumEnvelope.HstoreHandlingMode.class, b::hstoreHandlingMode);
        DebeziumEnvelope envelope = null;
        try {
            envelope = b.build();
        } catch (IllegalArgumentException e) {
            config.problem("schemas_enable", e.getMessage());
        }
        config.throwIfInvalid();
        return envelope;
    }

    /** Reads an enum written as Debezium spells its values: lower case, {@code -} or {@code _} between words. */
    private static <E extends Enum<E>> void choose(ProviderConfig config, String key, Class<E> type,
                                                    Consumer<E> setter) {
        String value = config.string(key);
        if (value == null) {
            return;
        }
        String name = value.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(name)) {
                setter.accept(e);
                return;
            }
        }
        config.problem(key, "'" + value + "' is not one of " + Arrays.stream(type.getEnumConstants())
                .map(DebeziumEnvelopeProvider::spelling).collect(Collectors.joining(", ")));
    }

    private static String spelling(Enum<?> e) {
        String s = e.name().toLowerCase(Locale.ROOT);
        // Debezium spells this one value with dashes; the others with underscores.
        return s.startsWith("base64_") ? s.replace('_', '-') : s;
    }
}
