package io.deltaforge.yaml;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Regression examples found by {@link HostileYamlPropertyTest}. */
class HostileYamlTest {
    private final PipelineConfigLoader loader = PipelineConfigLoader.create().withEnvironment(k -> null);

    @Test
    void anAliasIsAProblemNotItsName() {
        String yaml = PipelineConfigLoaderTest.VALID.replace("dsn: postgres://localhost/db", "dsn: *url")
                + "urls:\n  - &url postgres://localhost/db\n";
        assertThatThrownBy(() -> loader.definitions(yaml, "t.yaml"))
                .isInstanceOf(YamlConfigException.class)
                .hasMessageContaining("spec.source.config.dsn (line 10, column 12): YAML aliases are not supported (*url)");
    }
}
