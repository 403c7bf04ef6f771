package io.deltaforge.envelopes.internal;

import io.deltaforge.api.ConfigException;
import io.deltaforge.envelopes.CloudEventsEnvelope;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.ProviderConfig;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code cloudevents} envelope. Keys: {@code type_prefix} (required), {@code mode}
 * ({@code structured}, the default, or {@code binary}), {@code extensions} (optional mapping of constant
 * extension attributes). The pipeline's tenant ({@code metadata.tenant}), when set, becomes the
 * {@code tenant} extension.
 *
 * <pre>{@code
 * envelope:
 *   type: cloudevents
 *   type_prefix: "com.acme.users"
 *   mode: binary
 *   extensions: {region: eu1}
 * }</pre>
 */
public final class CloudEventsEnvelopeProvider implements EnvelopeProvider {
    private static final String BUILDER_PATH = "cloudevents.";

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
                if (v == null || v instanceof Map || v instanceof Iterable) {
                    config.problem("extensions." + k, "expected a single value (text, number or boolean)");
                } else {
                    builder.extension(String.valueOf(k), v.toString());
                }
            });
        } else if (extensions != null) {
            config.problem("extensions", "expected a mapping of attribute names to values, e.g. {region: eu1}");
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
