package io.deltaforge.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.spi.Sink;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;
import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

class DeltaforgeAutoConfigurationTest {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DeltaforgeAutoConfiguration.class))
            .withPropertyValues("management.endpoints.web.exposure.include=deltaforge", "USERS_SINK_ID=users-sink");
    private final ApplicationContextRunner withYaml =
            runner.withPropertyValues("deltaforge.config=classpath:test-pipelines.yaml");

    @Test
    void runsThePipelinesOfTheYamlWithTheContext() {
        Pipeline[] seen = new Pipeline[2];
        withYaml.run(context -> {
            List<Pipeline> pipelines = context.getBean(DeltaforgePipelines.class).pipelines();
            assertThat(pipelines).extracting(Pipeline::name).containsExactly("orders", "users");
            pipelines.forEach(p -> await().atMost(Duration.ofSeconds(10))
                    .until(() -> p.status().state() == PipelineState.RUNNING));
            seen[0] = pipelines.get(0);
            seen[1] = pipelines.get(1);
        });
        assertThat(seen).allSatisfy(p -> assertThat(p.status().state()).isEqualTo(PipelineState.STOPPED));
    }

    @Test
    void theApplicationsMeterRegistryGetsThePipelinesMetrics() {
        withYaml.withBean(MeterRegistry.class, SimpleMeterRegistry::new).run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(registry.getMeters()).anySatisfy(m -> {
                assertThat(m.getId().getName()).startsWith("deltaforge.");
                assertThat(m.getId().getTag("pipeline")).isEqualTo("users");
            });
        });
    }

    @Test
    void aUsersOwnPipelinesBeanWins() {
        runner.withUserConfiguration(OwnPipelines.class).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).getBean(DeltaforgePipelines.class).isSameAs(context.getBean("ownPipelines"));
        });
    }

    @Test
    void disabledCreatesNothingAndNeedsNoConfig() {
        runner.withPropertyValues("deltaforge.enabled=false").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).doesNotHaveBean(DeltaforgePipelines.class);
            assertThat(context).doesNotHaveBean(DeltaforgeEndpoint.class);
        });
    }

    @Test
    void aMissingConfigFailsWithTheFix() {
        runner.run(context -> assertThat(context).getFailure().rootCause()
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("deltaforge.config")
                .hasMessageContaining("is not set")
                .hasMessageContaining("deltaforge.enabled=false"));
    }

    @Test
    void aConfigThatDoesNotExistFailsNamingIt() {
        runner.withPropertyValues("deltaforge.config=classpath:nope.yaml").run(context ->
                assertThat(context).getFailure().rootCause().isInstanceOf(ConfigException.class)
                        .hasMessageContaining("nope.yaml").hasMessageContaining("does not exist"));
    }

    @Test
    void sinkBeansNamedInPropertiesJoinThePipeline() {
        withYaml.withUserConfiguration(AuditSinkConfig.class)
                .withPropertyValues("deltaforge.pipelines.orders.sinks=auditSink").run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(AuditSink.class).started).isTrue();
                });
    }

    @Test
    void aBeanNameTheContextLacksFailsNamingTheProperty() {
        withYaml.withPropertyValues("deltaforge.pipelines.orders.sinks=noSuchSink").run(context ->
                assertThat(context).getFailure().rootCause().isInstanceOf(ConfigException.class)
                        .hasMessageContaining("deltaforge.pipelines.orders.sinks")
                        .hasMessageContaining("noSuchSink"));
    }

    @Test
    void anEnvelopeBeanOfTheWrongTypeFailsNamingTheProperty() {
        withYaml.withUserConfiguration(AuditSinkConfig.class)
                .withPropertyValues("deltaforge.pipelines.orders.envelope=auditSink").run(context ->
                        assertThat(context).getFailure().rootCause().isInstanceOf(ConfigException.class)
                                .hasMessageContaining("deltaforge.pipelines.orders.envelope")
                                .hasMessageContaining("not of type Envelope"));
    }

    @Test
    void beansForAPipelineTheYamlLacksFailNamingTheKnownOnes() {
        withYaml.withPropertyValues("deltaforge.pipelines.order.sinks=auditSink").run(context ->
                assertThat(context).getFailure().rootCause().isInstanceOf(ConfigException.class)
                        .hasMessageContaining("deltaforge.pipelines.order")
                        .hasMessageContaining("[orders, users]"));
    }

    @Test
    void healthIsUpWhileRunningAndDownWhenAPipelineStopsUnderTheApplication() {
        withYaml.run(context -> {
            DeltaforgeHealthIndicator health = context.getBean(DeltaforgeHealthIndicator.class);
            assertThat(health.health().getStatus()).isEqualTo(Status.UP);
            assertThat(health.health().getDetails()).containsKeys("orders", "users");

            context.getBean(DeltaforgePipelines.class).pipeline("users").orElseThrow().stop();
            assertThat(health.health().getStatus()).isEqualTo(Status.DOWN);
        });
    }

    @Test
    void theEndpointShowsPausesAndResumes() {
        withYaml.run(context -> {
            DeltaforgeEndpoint endpoint = context.getBean(DeltaforgeEndpoint.class);
            assertThat(endpoint.pipelines()).containsOnlyKeys("orders", "users");
            assertThat(endpoint.pipeline("nope")).isNull();

            assertThat(endpoint.control("orders", "pause", null, null).state()).isIn("PAUSED");
            assertThat(endpoint.pipeline("orders").state()).isEqualTo("PAUSED");
            assertThat(endpoint.control("orders", "resume", null, null).state()).isEqualTo("RUNNING");
            assertThat(endpoint.control("nope", "pause", null, null)).isNull();
            assertThatThrownBy(() -> endpoint.control("orders", "restart", null, null))
                    .isInstanceOf(InvalidEndpointRequestException.class).hasMessageContaining("restart");
            // The test source takes no snapshots; the refusal is a bad request, not a server error.
            assertThatThrownBy(() -> endpoint.control("orders", "snapshot", List.of("public.orders"), null))
                    .isInstanceOf(InvalidEndpointRequestException.class).hasMessageContaining("orders");
            assertThatThrownBy(() -> endpoint.control("orders", "snapshot", List.of("public.orders"), "id >"))
                    .isInstanceOf(InvalidEndpointRequestException.class).hasMessageContaining("condition");
        });
    }

    @Test
    void theJarDescribesItsKeysForIdes() throws Exception {
        String metadata;
        try (var in = getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
            assertThat(in).as("configuration metadata").isNotNull();
            metadata = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        assertThat(metadata).contains("\"deltaforge.config\"", "\"deltaforge.drain-timeout\"",
                "\"deltaforge.enabled\"", "\"deltaforge.pipelines\"", "\"management.health.deltaforge.enabled\"");
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnPipelines {
        @Bean
        DeltaforgePipelines ownPipelines() {
            return new DeltaforgePipelines(List.of(), Duration.ofSeconds(1));
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class AuditSinkConfig {
        @Bean
        AuditSink auditSink() {
            return new AuditSink();
        }
    }

    static final class AuditSink implements Sink {
        volatile boolean started;

        @Override
        public String id() {
            return "audit";
        }

        @Override
        public void start() {
            started = true;
        }

        @Override
        public CompletionStage<Void> send(io.deltaforge.spi.Batch batch) {
            return CompletableFuture.completedFuture(null);
        }
    }
}
