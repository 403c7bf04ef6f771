package io.deltaforge.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ConfigException;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.Sink;
import io.deltaforge.spi.SinkProvider;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class NatsSinkProviderTest {
    private static final ProviderConfig.PipelineInfo PIPELINE = new ProviderConfig.PipelineInfo("p", null);

    @Test
    void isFoundByServiceLoaderAsNats() {
        assertThat(ServiceLoader.load(SinkProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.type().equals("nats")).findFirst()).get().isInstanceOf(NatsSinkProvider.class);
    }

    @Test
    void createsTheSeedYamlSink() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("id", "users-nats");
        values.put("url", "nats://127.0.0.1:4222");
        values.put("subject", "users.events");
        values.put("stream", "USERS");
        values.put("send_timeout_secs", 5);
        values.put("batch_timeout_secs", 30);
        values.put("max_in_flight", "128");
        values.put("headers", Map.of("x-team", "identity"));
        Sink sink = new NatsSinkProvider().create(ProviderConfig.of("spec.sinks[0].config", values, PIPELINE));
        assertThat(sink.id()).isEqualTo("users-nats");
        assertThat(sink.toString()).contains("maxInFlight=128", "headers=[x-team]", "stream=USERS");
    }

    @Test
    void readsEveryKeyOfTheDocumentedSinkSection(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path ca = java.nio.file.Files.writeString(dir.resolve("ca.pem"), "x");
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("id", "users-nats");
        values.put("url", "nats://127.0.0.1:4222");
        values.put("subject", "users.{tenant}.{table}");
        values.put("stream", "USERS");
        values.put("create_stream", true);
        values.put("stream_config", Map.of("subjects", java.util.List.of("users.>"), "storage", "memory",
                "replicas", 1, "duplicate_window_secs", 300, "max_age_secs", 86400));
        values.put("max_in_flight_bytes", 1048576);
        values.put("expected_restart_secs", 600);
        values.put("dead_letter_subject", "users.dead");
        values.put("token", "secret-token");
        values.put("tls", Map.of("ca_file", ca.toString()));
        Sink sink = new NatsSinkProvider().create(ProviderConfig.of("spec.sinks[0].config", values,
                new ProviderConfig.PipelineInfo("p", "acme")));
        assertThat(sink.toString()).contains("subject=users.{tenant}.{table}", "createStream=true",
                "maxInFlightBytes=1048576", "deadLetterSubject=users.dead", "expectedRestart=PT10M", "tls=true",
                "auth=token").doesNotContain("secret-token");
    }

    @Test
    void reportsUnknownPlaceholdersAndBadStreamAndTlsSettings() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("url", "nats://127.0.0.1:4222");
        values.put("subject", "users.{tenant}.{tabel}");
        values.put("stream", "USERS");
        values.put("stream_config", Map.of("storage", "disk", "replicaz", 3));
        values.put("tls", Map.of("cert_file", "/nonexistent/c.pem"));
        ProviderConfig config = ProviderConfig.of("s", values, PIPELINE);
        assertThatThrownBy(() -> new NatsSinkProvider().create(config)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("s.subject: 'users.{tenant}.{tabel}' has an unknown placeholder {tabel}")
                .hasMessageContaining("s.subject: 'users.{tenant}.{tabel}' uses {tenant} but the pipeline has no tenant")
                .hasMessageContaining("s.stream_config: is only used with create_stream: true")
                .hasMessageContaining("s.stream_config.storage: 'disk' is not a storage type")
                .hasMessageContaining("s.stream_config.replicaz: unknown key")
                .hasMessageContaining("s.tls.key_file: is required together with cert_file");
    }

    @Test
    void reportsTypeErrorsMissingKeysAndUnknownKeysTogether() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("url", "nats//x");
        values.put("send_timeout_secs", "soon");
        values.put("strem", "USERS");
        values.put("headers", "x");
        ProviderConfig config = ProviderConfig.of("spec.sinks[0].config", values, PIPELINE);
        assertThatThrownBy(() -> new NatsSinkProvider().create(config)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("spec.sinks[0].config.url: 'nats//x' is not a URI")
                .hasMessageContaining("spec.sinks[0].config.send_timeout_secs: 'soon' is not a whole number")
                .hasMessageContaining("spec.sinks[0].config.subject: is required")
                .hasMessageContaining("spec.sinks[0].config.stream: is required")
                .hasMessageContaining("spec.sinks[0].config.headers: expected a mapping")
                .hasMessageContaining("spec.sinks[0].config.strem: unknown key");
    }

    private static Map<String, Object> minimal() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("url", "nats://127.0.0.1:4222");
        values.put("subject", "users.events");
        values.put("stream", "USERS");
        return values;
    }

    @Test
    void atomicTransactionsDefaultsToAutoAndTakesYamlOnOffBooleansAsWellAsWords() {
        assertThat(new NatsSinkProvider().create(ProviderConfig.of("c", minimal(), PIPELINE)).toString())
                .contains("atomicTransactions=AUTO", "splitOversize=true");
        Map<Object, String> expected = Map.of(true, "ON", false, "OFF", "on", "ON", "Off", "OFF", "auto", "AUTO");
        expected.forEach((raw, mode) -> {
            Map<String, Object> values = minimal();
            values.put("atomic_transactions", raw);
            values.put("oversize", "fail");
            Sink sink = new NatsSinkProvider().create(ProviderConfig.of("c", values, PIPELINE));
            assertThat(sink.toString()).contains("atomicTransactions=" + mode, "splitOversize=false");
            assertThat(sink.storesTransactionParts()).isEqualTo(!mode.equals("OFF"));
        });
    }

    @Test
    void anUnknownAtomicModeOrOversizeIsReportedWithTheChoices() {
        Map<String, Object> values = minimal();
        values.put("atomic_transactions", "always");
        values.put("oversize", "truncate");
        assertThatThrownBy(() -> new NatsSinkProvider().create(ProviderConfig.of("spec.sinks[0].config", values,
                PIPELINE))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("spec.sinks[0].config.atomic_transactions").hasMessageContaining("'always'")
                .hasMessageContaining("expected auto")
                .hasMessageContaining("spec.sinks[0].config.oversize").hasMessageContaining("expected split");
    }

    @Test
    void takesSeveralUrlsAsAListOrCommaSeparated() {
        for (Object url : java.util.List.of(java.util.List.of("nats://a:4222", "b:4222"), "nats://a:4222, b:4222")) {
            Map<String, Object> values = new LinkedHashMap<>();
            values.put("url", url);
            values.put("subject", "users.events");
            values.put("stream", "USERS");
            Sink sink = new NatsSinkProvider().create(ProviderConfig.of("s", values, PIPELINE));
            assertThat(sink.toString()).as("url %s", url).contains("servers=[nats://a:4222, nats://b:4222]");
        }
    }

    @Test
    void reportsAnEmptyUrlListAndABadEntryInOne() {
        for (Map.Entry<Object, String> c : Map.<Object, String>of(java.util.List.of(),
                "s.url: is an empty list", java.util.List.of("nats://a:4222", "nats//x"),
                "s.url: 'nats//x' is not a URI").entrySet()) {
            Map<String, Object> values = new LinkedHashMap<>();
            values.put("url", c.getKey());
            values.put("subject", "users.events");
            values.put("stream", "USERS");
            ProviderConfig config = ProviderConfig.of("s", values, PIPELINE);
            assertThatThrownBy(() -> new NatsSinkProvider().create(config)).isInstanceOf(ConfigException.class)
                    .hasMessageContaining(c.getValue());
        }
    }
}
