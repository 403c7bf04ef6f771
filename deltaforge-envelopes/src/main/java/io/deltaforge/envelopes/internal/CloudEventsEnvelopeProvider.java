package io.deltaforge.envelopes.internal;

import io.deltaforge.api.ConfigException;
import io.deltaforge.envelopes.CloudEventsEnvelope;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.api.TableId;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The {@code cloudevents} envelope. Keys: {@code type_prefix} (required), {@code mode}
 * ({@code structured}, the default, or {@code binary}), {@code extensions} (optional mapping: the
 * standard extensions {@code txid}, {@code lsn}, {@code sequence}, {@code partitionkey}, {@code tenant}
 * take {@code true}/{@code false} to switch them on or off; any other name is a constant extension
 * attribute), {@code partition_key_columns} (optional mapping of {@code schema.table} to its key
 * columns). The pipeline's tenant ({@code metadata.tenant}), when set, becomes the {@code tenant}
 * extension.
 *
 * <pre>{@code
 * envelope:
 *   type: cloudevents
 *   type_prefix: "com.acme.users"
 *   mode: binary
 *   extensions: {region: eu1, lsn: false}
 *   partition_key_columns: {public.memberships: [user_id, group_id]}
 * }</pre>
 */
public final class CloudEventsEnvelopeProvider implements EnvelopeProvider {
    private static final String BUILDER_PATH = "cloudevents.";

    private static CloudEventsEnvelope.@Nullable StandardExtension standard(String name) {
        for (CloudEventsEnvelope.StandardExtension e : CloudEventsEnvelope.StandardExtension.values()) {
            if (e.attribute().equals(name)) {
                return e;
            }
        }
        return null;
    }

    public CloudEventsEnvelopeProvider() {
    }

    @Override
    public String type() {
        return "cloudevents";
    }

    @Override
    public Envelope create(ProviderConfig config) {
        CloudEventsEnvelope.Builder builder = CloudEventsEnvelope.builder();
        String prefix = config.requiredString("type_prefix");
        if (!prefix.isEmpty()) {
            builder.typePrefix(prefix);
        }
        String mode = config.string("mode", "structured").trim().toLowerCase(Locale.ROOT);
        switch (mode) {
            case "structured" -> builder.mode(CloudEventsEnvelope.Mode.STRUCTURED);
            case "binary" -> builder.mode(CloudEventsEnvelope.Mode.BINARY);
            default -> config.problem("mode", "'" + mode + "' is not a content mode; expected structured or binary");
        }
        Object extensions = config.raw("extensions");
        if (extensions instanceof Map<?, ?> map) {
            map.forEach((k, v) -> {
                String name = String.valueOf(k);
                CloudEventsEnvelope.StandardExtension standard = standard(name);
                if (standard != null) {
                    // A standard extension's entry is a switch, not a constant value.
                    if (v instanceof Boolean on) {
                        builder.enable(standard, on);
                    } else if (v != null && (v.toString().equalsIgnoreCase("true") || v.toString().equalsIgnoreCase("false"))) {
                        builder.enable(standard, Boolean.parseBoolean(v.toString()));
                    } else {
                        config.problem("extensions." + name, "'" + v + "' is not true or false; " + name
                                + " is computed per event and can only be switched on or off");
                    }
                } else if (v == null || v instanceof Map || v instanceof Iterable) {
                    config.problem("extensions." + name, "expected a single value (text, number or boolean)");
                } else {
                    builder.extension(name, v.toString());
                }
            });
        } else if (extensions != null) {
            config.problem("extensions", "expected a mapping of attribute names to values, e.g. {region: eu1, txid: false}");
        }
        Object keys = config.raw("partition_key_columns");
        if (keys instanceof Map<?, ?> map) {
            map.forEach((k, v) -> {
                String table = String.valueOf(k);
                if (!(v instanceof List<?> list) || list.isEmpty() || list.stream().anyMatch(c -> c == null
                        || c instanceof Map || c instanceof Iterable)) {
                    config.problem("partition_key_columns." + table, "expected a list of column names, e.g. [id]");
                } else if (!table.contains(".")) {
                    config.problem("partition_key_columns." + table, "'" + table
                            + "' is not schema.table; write e.g. public.users");
                } else {
                    builder.keyColumns(TableId.parse(table), list.stream().map(String::valueOf).toList());
                }
            });
        } else if (keys != null) {
            config.problem("partition_key_columns", "expected a mapping of tables to key columns, e.g. {public.users: [id]}");
        }
        String tenant = config.pipeline().tenant();
        if (tenant != null && !tenant.isBlank()) {
            builder.tenant(tenant);
        }
        CloudEventsEnvelope envelope = null;
        try {
            envelope = builder.build();
        } catch (ConfigException e) {
            for (ConfigException.Problem p : e.problems()) {
                String key = p.path().startsWith(BUILDER_PATH) ? p.path().substring(BUILDER_PATH.length()) : p.path();
                // A missing prefix is already reported by requiredString.
                if (!(key.equals("type_prefix") && prefix.isEmpty())) {
                    config.problem(key, p.message());
                }
            }
        }
        config.throwIfInvalid();
        if (envelope == null) {
            throw new IllegalStateException("cloudevents: builder failed without a recorded problem");
        }
        return envelope;
    }
}
