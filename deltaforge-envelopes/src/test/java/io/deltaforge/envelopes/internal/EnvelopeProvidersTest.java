package io.deltaforge.envelopes.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ConfigException;
import io.deltaforge.envelopes.CloudEventsEnvelope;
import io.deltaforge.envelopes.DebeziumEnvelope;
import io.deltaforge.envelopes.NativeEnvelope;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.ProviderConfig.PipelineInfo;
import io.deltaforge.spi.Providers;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvelopeProvidersTest {
    private static final String PATH = "spec.sinks[0].config.envelope";
    private static final PipelineInfo ACME = new PipelineInfo("users-postgres-to-nats", "acme");

    private final Providers<EnvelopeProvider> providers =
            Providers.of(EnvelopeProvider.class, getClass().getClassLoader());

    @Test
    void serviceLoaderFindsAllThreeEnvelopes() {
        assertThat(providers.get("cloudevents", PATH)).isInstanceOf(CloudEventsEnvelopeProvider.class);
        assertThat(providers.get("native", PATH)).isInstanceOf(NativeEnvelopeProvider.class);
        assertThat(providers.get("debezium", PATH)).isInstanceOf(DebeziumEnvelopeProvider.class);
    }

    @Test
    void cloudeventsFromTheSeedConfigCarriesThePipelineTenant() {
        Envelope e = create("cloudevents", Map.of("type_prefix", "com.acme.users"), ACME);
        assertThat(e).isInstanceOfSatisfying(CloudEventsEnvelope.class, ce -> {
            assertThat(ce.typePrefix()).isEqualTo("com.acme.users");
            assertThat(ce.mode()).isEqualTo(CloudEventsEnvelope.Mode.STRUCTURED);
            assertThat(ce.tenant()).isEqualTo("acme");
        });
        Envelope untenanted = create("cloudevents", Map.of("type_prefix", "x.y", "mode", "Binary"),
                new PipelineInfo("p", null));
        assertThat(((CloudEventsEnvelope) untenanted).tenant()).isNull();
        assertThat(((CloudEventsEnvelope) untenanted).mode()).isEqualTo(CloudEventsEnvelope.Mode.BINARY);
    }

    @Test
    void cloudeventsReportsEveryProblemUnderItsYamlPath() {
        assertThatThrownBy(() -> create("cloudevents",
                Map.of("mode", "chunked", "extensions", Map.of("Region", "eu"), "typo", 1), ACME))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems())
                        .extracting(ConfigException.Problem::path)
                        .containsExactlyInAnyOrder(PATH + ".type_prefix", PATH + ".mode",
                                PATH + ".extensions.Region", PATH + ".typo"));
        assertThatThrownBy(() -> create("cloudevents", Map.of("type_prefix", "com.acme."), ACME))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(PATH + ".type_prefix: 'com.acme.' ends with a dot");
    }

    @Test
    void cloudeventsAddsConfiguredExtensions() {
        CloudEventsEnvelope e = (CloudEventsEnvelope) create("cloudevents",
                Map.of("type_prefix", "a.b", "extensions", Map.of("region", "eu1")), ACME);
        assertThat(e.toString()).contains("region");
    }

    @Test
    void cloudeventsSwitchesStandardExtensionsFromTheExtensionsMapping() {
        CloudEventsEnvelope e = (CloudEventsEnvelope) create("cloudevents", Map.of("type_prefix", "a.b",
                "extensions", Map.of("txid", false, "lsn", "false", "tenant", false, "region", "eu1"),
                "partition_key_columns", Map.of("public.memberships", java.util.List.of("user_id", "group_id"))), ACME);
        assertThat(e.isEnabled(CloudEventsEnvelope.StandardExtension.TXID)).isFalse();
        assertThat(e.isEnabled(CloudEventsEnvelope.StandardExtension.LSN)).isFalse();
        assertThat(e.isEnabled(CloudEventsEnvelope.StandardExtension.TENANT)).isFalse();
        assertThat(e.isEnabled(CloudEventsEnvelope.StandardExtension.SEQUENCE)).isTrue();
        assertThat(e.isEnabled(CloudEventsEnvelope.StandardExtension.PARTITIONKEY)).isTrue();

        assertThatThrownBy(() -> create("cloudevents", Map.of("type_prefix", "a.b",
                "extensions", Map.of("sequence", "yes"), "partition_key_columns", Map.of("users", "id")), ACME))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(PATH + ".extensions.sequence: 'yes' is not true or false")
                .hasMessageContaining(PATH + ".partition_key_columns.users: expected a list of column names");
    }

    @Test
    void debeziumReadsSchemaWrapperAndDatabase() {
        DebeziumEnvelope e = (DebeziumEnvelope) create("debezium",
                Map.of("schema_wrapper", true, "database", "app"), ACME);
        assertThat(e.schemaWrapper()).isTrue();
        assertThat(e.database()).isEqualTo("app");
        assertThatThrownBy(() -> create("debezium", Map.of("schema_wrapper", "maybe"), ACME))
                .isInstanceOf(ConfigException.class).hasMessageContaining(PATH + ".schema_wrapper");
    }

    @Test
    void debeziumReadsTheHandlingModesAsDebeziumSpellsThem() {
        DebeziumEnvelope e = (DebeziumEnvelope) create("debezium", Map.of("value_encoding", "lossless",
                "binary_handling_mode", "base64-url-safe", "time_precision_mode", "adaptive_time_microseconds"), ACME);
        assertThat(e.valueEncoding()).isEqualTo(DebeziumEnvelope.ValueEncoding.LOSSLESS);
        assertThatThrownBy(() -> create("debezium", Map.of("decimal_handling_mode", "exact"), ACME))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(PATH + ".decimal_handling_mode: 'exact' is not one of precise, string, double");
    }

    @Test
    void nativeNeedsNoKeysAndRejectsUnknownOnes() {
        assertThat(create("native", Map.of(), ACME)).isInstanceOf(NativeEnvelope.class);
        assertThat(((NativeEnvelope) create("native", Map.of("database", "app"), ACME)).database()).isEqualTo("app");
        assertThatThrownBy(() -> create("native", Map.of("type_prefix", "x"), ACME))
                .isInstanceOf(ConfigException.class).hasMessageContaining(PATH + ".type_prefix: unknown key");
    }

    private Envelope create(String type, Map<String, ?> values, PipelineInfo pipeline) {
        return providers.get(type, PATH).create(ProviderConfig.of(PATH, values, pipeline));
    }
}
