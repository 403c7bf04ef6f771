package io.deltaforge.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NatsSinkBuilderTest {
    @Test
    void buildsWithDefaults() {
        NatsSink sink = NatsSink.builder().url("nats://127.0.0.1:4222").subject("users.events").stream("USERS").build();
        assertThat(sink.id()).isEqualTo("nats");
        assertThat(sink.toString()).contains("sendTimeout=PT5S", "batchTimeout=PT30S", "maxInFlight=4096");
    }

    @Test
    void reportsEveryProblemAtOnce() {
        NatsSink.Builder b = NatsSink.builder().url("nats//x").subject("users.*").stream("US.ERS")
                .sendTimeout(Duration.ZERO).maxInFlight(0);
        assertThatThrownBy(b::build).isInstanceOf(ConfigException.class).satisfies(e -> {
            ConfigException ce = (ConfigException) e;
            assertThat(ce.problems()).extracting(ConfigException.Problem::path).containsExactlyInAnyOrder(
                    "sink.nats.url", "sink.nats.subject", "sink.nats.stream", "sink.nats.send_timeout_secs",
                    "sink.nats.max_in_flight");
            assertThat(ce.getMessage()).contains("sink.nats.url: 'nats//x' is not a URI; expected nats://host:port");
        });
    }

    @Test
    void requiresUrlSubjectAndStream() {
        assertThatThrownBy(() -> NatsSink.builder().build()).isInstanceOf(ConfigException.class)
                .hasMessageContaining("sink.nats.url: is required")
                .hasMessageContaining("sink.nats.subject: is required")
                .hasMessageContaining("sink.nats.stream: is required");
    }

    @Test
    void acceptsACommaSeparatedServerList() {
        NatsSink sink = NatsSink.builder().url("nats://a:4222, b:4223").subject("s").stream("S").build();
        assertThat(sink.toString()).contains("[nats://a:4222, nats://b:4223]");
    }

    @Test
    void neverShowsSecretsInErrorsOrToString() {
        NatsSink sink = NatsSink.builder().url("nats://u:hunter2@a:4222").subject("s").stream("S")
                .token("t0ken-secret").build();
        assertThat(sink.toString()).doesNotContain("hunter2").doesNotContain("t0ken-secret");
        assertThatThrownBy(() -> NatsSink.builder().url("ftp://u:hunter2@a:4222").subject("s").stream("S").build())
                .hasMessageNotContaining("hunter2").hasMessageContaining("unsupported scheme");
    }

    @Test
    void rejectsConflictingAuthAndHalfUserInfo() {
        assertThatThrownBy(() -> NatsSink.builder().url("nats://a").subject("s").stream("S").username("u")
                .token("t").build())
                .hasMessageContaining("sink.nats.password: is required together with username")
                .hasMessageContaining("alternatives");
        assertThatThrownBy(() -> NatsSink.builder().url("nats://a").subject("s").stream("S")
                .credentialsFile(Path.of("/nonexistent/x.creds")).build())
                .hasMessageContaining("sink.nats.credentials_file: '/nonexistent/x.creds' is not a readable file");
    }

    @Test
    void rejectsReservedStaticHeaders() {
        assertThatThrownBy(() -> NatsSink.builder().url("nats://a").subject("s").stream("S")
                .headers(Map.of("Nats-Msg-Id", "x")).build())
                .hasMessageContaining("sink.nats.headers.Nats-Msg-Id: is set by the sink itself");
    }

    @Test
    void rejectsBatchTimeoutShorterThanSendTimeout() {
        assertThatThrownBy(() -> NatsSink.builder().url("nats://a").subject("s").stream("S")
                .sendTimeout(Duration.ofSeconds(10)).batchTimeout(Duration.ofSeconds(5)).build())
                .hasMessageContaining("sink.nats.batch_timeout_secs");
    }

    @Test
    void settersRejectNullNamingTheParameter() {
        assertThatThrownBy(() -> NatsSink.builder().url(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("url");
    }
}
