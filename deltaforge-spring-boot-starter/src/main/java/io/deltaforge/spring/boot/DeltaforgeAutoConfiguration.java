package io.deltaforge.spring.boot;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.SinkBinding;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Sink;
import io.deltaforge.yaml.PipelineConfigLoader;
import io.deltaforge.yaml.PipelineDefinition;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.core.io.Resource;
import org.springframework.core.io.ResourceLoader;

/**
 * Builds the pipelines of {@code deltaforge.config} and runs them with the application. Every bean here
 * backs off when the application defines its own of the same type.
 */
@AutoConfiguration
@ConditionalOnClass({Pipeline.class, PipelineConfigLoader.class})
@ConditionalOnProperty(prefix = "deltaforge", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(DeltaforgeProperties.class)
public class DeltaforgeAutoConfiguration {

    /** Providers come from the application's class loader; {@code ${VAR}} resolves from its environment. */
    @Bean
    @ConditionalOnMissingBean
    public PipelineConfigLoader deltaforgeConfigLoader(Environment environment, ResourceLoader resourceLoader) {
        ClassLoader classLoader = resourceLoader.getClassLoader();
        PipelineConfigLoader loader = PipelineConfigLoader.create().withEnvironment(environment::getProperty);
        return classLoader == null ? loader : loader.withClassLoader(classLoader);
    }

    @Bean
    @ConditionalOnMissingBean
    public DeltaforgePipelines deltaforgePipelines(DeltaforgeProperties properties, PipelineConfigLoader loader,
                                                   ObjectProvider<MeterRegistry> meterRegistry, BeanFactory beans) {
        List<PipelineDefinition> definitions = new ArrayList<>();
        for (Resource resource : configuredResources(properties)) {
            definitions.addAll(loader.definitions(read(resource), resource.getDescription()));
        }
        checkPipelineNames(properties, definitions);
        MeterRegistry registry = meterRegistry.getIfAvailable();
        List<Pipeline> pipelines = new ArrayList<>();
        for (PipelineDefinition definition : definitions) {
            Pipeline.Builder builder = definition.toBuilder();
            if (registry != null) {
                builder.meterRegistry(registry);
            }
            DeltaforgeProperties.PipelineBeans fromContext = properties.getPipelines().get(definition.name());
            if (fromContext != null) {
                addBeans(builder, definition.name(), fromContext, beans);
            }
            pipelines.add(builder.build());
        }
        return new DeltaforgePipelines(pipelines, properties.getDrainTimeout());
    }

    private static List<Resource> configuredResources(DeltaforgeProperties properties) {
        if (properties.getConfig().isEmpty()) {
            throw new ConfigException("deltaforge.config",
                    "is not set; point it at a deltaforge/v1 YAML file, e.g. deltaforge.config=classpath:pipeline.yaml,"
                            + " or set deltaforge.enabled=false");
        }
        return properties.getConfig();
    }

    private static String read(Resource resource) {
        if (!resource.exists()) {
            throw new ConfigException("deltaforge.config",
                    resource.getDescription() + " does not exist; check the path and its prefix"
                            + " (classpath: or file:)");
        }
        try (InputStream in = resource.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read deltaforge.config " + resource.getDescription(), e);
        }
    }

    /** A typo in a pipeline's name under {@code deltaforge.pipelines} would otherwise drop its beans silently. */
    private static void checkPipelineNames(DeltaforgeProperties properties, List<PipelineDefinition> definitions) {
        Set<String> known = new TreeSet<>();
        definitions.forEach(d -> known.add(d.name()));
        List<ConfigException.Problem> problems = new ArrayList<>();
        for (String name : properties.getPipelines().keySet()) {
            if (!known.contains(name)) {
                problems.add(new ConfigException.Problem("deltaforge.pipelines." + name,
                        "names no pipeline of deltaforge.config; known: " + known));
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
    }

    private static void addBeans(Pipeline.Builder builder, String pipeline, DeltaforgeProperties.PipelineBeans names,
                                 BeanFactory beans) {
        String prefix = "deltaforge.pipelines." + pipeline + ".";
        if (names.getEnvelope() != null) {
            builder.envelope(bean(beans, names.getEnvelope(), Envelope.class, prefix + "envelope"));
        }
        for (String name : names.getSinks()) {
            Object sink = bean(beans, name, Object.class, prefix + "sinks");
            if (sink instanceof SinkBinding binding) {
                builder.sink(binding);
            } else if (sink instanceof Sink plain) {
                builder.sink(plain);
            } else {
                throw new ConfigException(prefix + "sinks",
                        "bean '" + name + "' is a " + sink.getClass().getName() + ", not a Sink or SinkBinding");
            }
        }
    }

    private static <T> T bean(BeanFactory beans, String name, Class<T> type, String property) {
        if (!beans.containsBean(name)) {
            throw new ConfigException(property,
                    "names bean '" + name + "', which the application context does not have");
        }
        Object bean = beans.getBean(name);
        if (!type.isInstance(bean)) {
            throw new ConfigException(property,
                    "bean '" + name + "' is a " + bean.getClass().getName() + ", not of type " + type.getSimpleName());
        }
        return type.cast(bean);
    }

    /** Health as {@code deltaforge}, when the application has Actuator (Boot 3). */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = {"org.springframework.boot.actuate.health.HealthIndicator",
        "org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator"})
    @ConditionalOnEnabledHealthIndicator("deltaforge")
    static class Health {
        @Bean
        @ConditionalOnMissingBean(name = "deltaforgeHealthIndicator")
        DeltaforgeHealthIndicator deltaforgeHealthIndicator(DeltaforgePipelines pipelines) {
            return new DeltaforgeHealthIndicator(pipelines);
        }
    }

    /** Health as {@code deltaforge} on Boot 4, which moved health into its own module. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
    @ConditionalOnMissingClass("org.springframework.boot.actuate.health.HealthIndicator")
    @ConditionalOnProperty(name = "management.health.deltaforge.enabled", matchIfMissing = true)
    static class Boot4Health {
        @Bean
        @ConditionalOnMissingBean(name = "deltaforgeHealthIndicator")
        DeltaforgeBoot4HealthIndicator deltaforgeHealthIndicator(DeltaforgePipelines pipelines) {
            return new DeltaforgeBoot4HealthIndicator(pipelines);
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = {"org.springframework.boot.actuate.endpoint.annotation.Endpoint",
        "org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint"})
    @ConditionalOnAvailableEndpoint(DeltaforgeEndpoint.class)
    static class Actuator {
        @Bean
        @ConditionalOnMissingBean
        DeltaforgeEndpoint deltaforgeEndpoint(DeltaforgePipelines pipelines) {
            return new DeltaforgeEndpoint(pipelines);
        }
    }
}
