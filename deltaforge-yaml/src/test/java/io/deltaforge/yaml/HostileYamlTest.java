package io.deltaforge.yaml;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.yaml.fixtures.SampleConfigs;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Regression examples found by {@link HostileYamlPropertyTest}. */
class HostileYamlTest {
    private final PipelineConfigLoader loader = PipelineConfigLoader.create().withEnvironment(k -> null);

    @Test
    void anAliasIsAProblemNotItsName() {
        String yaml = SampleConfigs.VALID.replace("dsn: postgres://localhost/db", "dsn: *url")
                + "urls:\n  - &url postgres://localhost/db\n";
        assertThatThrownBy(() -> loader.definitions(yaml, "t.yaml"))
                .isInstanceOf(YamlConfigException.class)
                .hasMessageContaining("spec.source.config.dsn (line 10, column 12): YAML aliases are not supported (*url)");
    }

    @Test
    void textOverTheSizeLimitIsRefused() {
        String yaml = SampleConfigs.VALID + ("# " + "x".repeat(1021) + "\n").repeat(4 * 1024);
        assertThatThrownBy(() -> loader.definitions(yaml, "t.yaml"))
                .isInstanceOf(YamlConfigException.class)
                .hasMessageContaining("too large: 4194576 characters, at most 1048576");
    }

    @Test
    void aFileOverTheSizeLimitIsNotRead(@TempDir Path dir) throws IOException {
        Path big = dir.resolve("big.yaml");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(5L << 30); // sparse: 5 GB that would not fit in the heap
        }
        assertThatThrownBy(() -> loader.definitions(big))
                .isInstanceOf(YamlConfigException.class)
                .hasMessageContaining("too large: 5368709120 bytes");
    }

    @Test
    void deepNestingIsRefusedNamingTheLimit() {
        String yaml = SampleConfigs.VALID + "extra: " + "[".repeat(100) + "]".repeat(100) + "\n";
        assertThatThrownBy(() -> loader.definitions(yaml, "t.yaml"))
                .isInstanceOf(YamlConfigException.class)
                .hasMessageContaining("nested more than 64 levels deep");
    }
}
