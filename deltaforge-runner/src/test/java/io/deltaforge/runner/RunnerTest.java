package io.deltaforge.runner;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.yaml.fixtures.SampleConfigs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class RunnerTest {
    private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final Map<String, String> env = new HashMap<>();
    @TempDir
    Path dir;

    private int run(String... args) {
        return Runner.execute(args, new PrintStream(outBytes, true, StandardCharsets.UTF_8),
                new PrintStream(errBytes, true, StandardCharsets.UTF_8), env::get);
    }

    private String out() {
        return outBytes.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return errBytes.toString(StandardCharsets.UTF_8);
    }

    private Path write(String name, String yaml) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, yaml);
        return p;
    }

    @Test
    void validateSaysOkAndExitsZeroForAValidFile() throws IOException {
        Path file = write("p.yaml", SampleConfigs.VALID + "---\n"
                + SampleConfigs.VALID.replace("name: users", "name: orders"));

        assertThat(run("validate", "--config", file.toString())).isZero();
        assertThat(out()).isEqualTo("ok: 2 pipeline(s) valid" + System.lineSeparator());
        assertThat(err()).isEmpty();
    }

    @Test
    void checkConnectionsSkipsComponentsThatOfferNoCheck() throws IOException {
        Path file = write("p.yaml", SampleConfigs.VALID);

        assertThat(run("validate", "--config", file.toString(), "--check-connections")).isZero();
        assertThat(out()).contains("ok: 1 pipeline(s) valid", "skipped: pipeline 'users': source 'pg': ",
                "offers no connection check", "skipped: pipeline 'users': sink 'out': ");
    }

    @Test
    void validateAcceptsADirectoryAndTheConfigEnvironmentVariable() throws IOException {
        write("a.yaml", SampleConfigs.VALID);
        env.put("DELTAFORGE_CONFIG", dir.toString());

        assertThat(run("validate")).isZero();
        assertThat(out()).startsWith("ok: 1 pipeline(s) valid");
    }

    @Test
    void validateExitsTwoWithOneLinePerProblemAndNoStackTrace() throws IOException {
        Path file = write("p.yaml", SampleConfigs.VALID.replace("dsn: postgres://localhost/db",
                "dsn: ${PG_DSN}").replace("  sinks:", "  sinkz:"));

        assertThat(run("validate", "--config=" + file)).isEqualTo(2);
        assertThat(out()).isEmpty();
        assertThat(err().lines()).containsExactly(
                "spec.source.config.dsn (line 10, column 7): environment variable PG_DSN is not set; export it or "
                        + "write ${PG_DSN:-default}",
                "spec.sinkz (line 11, column 3): unknown key; did you mean 'sinks'? known keys: source, sinks, "
                        + "envelope, encoding, batch, commit_policy, filters",
                "spec.sinks (line 5, column 1): is required; add at least one sink, e.g. sinks: [{type: nats, "
                        + "config: {...}}]");
    }

    @Test
    void validateUsesTheGivenEnvironment() throws IOException {
        Path file = write("p.yaml", SampleConfigs.VALID.replace("dsn: postgres://localhost/db",
                "dsn: ${PG_DSN}"));
        env.put("PG_DSN", "postgres://x/y");

        assertThat(run("validate", "-c", file.toString())).isZero();
    }

    @Test
    void runExitsTwoOnConfigurationProblemsWithoutStartingAnything() throws IOException {
        Path file = write("p.yaml", "apiVersion: deltaforge/v1\n");

        assertThat(run("run", "--config", file.toString())).isEqualTo(2);
        assertThat(err().lines()).containsExactly(
                "kind (line 1, column 1): is required; write kind: Pipeline",
                "metadata (line 1, column 1): is required; write metadata: {name: my-pipeline}",
                "spec (line 1, column 1): is required; write spec: with a source and at least one sink");
    }

    @Test
    void runExitsOneWhenAPipelineCannotStart() throws IOException {
        Path file = write("p.yaml", SampleConfigs.VALID.replace("dsn: postgres://localhost/db",
                "fail_on_start: publication users_pub does not exist"));

        assertThat(run("run", "--config", file.toString(), "--drain-timeout", "1")).isEqualTo(1);
        assertThat(err().lines()).singleElement().asString().startsWith("error: pipeline 'users' failed to start: ");
    }

    @Test
    void versionAndHelpExitZero() {
        assertThat(run("--version")).isZero();
        assertThat(out()).startsWith("deltaforge 0.1.0");

        assertThat(run("--help")).isZero();
        assertThat(out()).contains("Usage: deltaforge <command>");
    }

    @Test
    void badUsageExitsTwo() {
        assertThat(run()).isEqualTo(2);
        assertThat(run("start")).isEqualTo(2);
        assertThat(run("validate")).isEqualTo(2);
        assertThat(run("validate", "--config")).isEqualTo(2);
        assertThat(run("validate", "--config", "x.yaml", "--verbose")).isEqualTo(2);
        assertThat(run("run", "--config", "x.yaml", "--drain-timeout", "soon")).isEqualTo(2);

        assertThat(err()).contains("error: unknown command 'start'; expected run, validate, --help or --version")
                .contains("error: no configuration; pass --config FILE|DIR or set DELTAFORGE_CONFIG")
                .contains("error: --config needs a value")
                .contains("error: unknown option '--verbose' for validate")
                .contains("error: --drain-timeout: 'soon' is not a number of seconds from 1 to 3600");
    }

    @Test
    void opsTokenProblemsExitTwoNamingWhereTheTokenComesFromButNeverTheToken() throws IOException {
        Path config = write("p.yaml", SampleConfigs.VALID);
        Path spaced = write("spaced-token", "half token\n");
        Path empty = write("empty-token", "\n");

        assertThat(run("run", "--config", config.toString(), "--ops-token-file", dir.resolve("nope").toString()))
                .isEqualTo(2);
        assertThat(run("run", "--config", config.toString(), "--ops-token-file", empty.toString())).isEqualTo(2);
        assertThat(run("run", "--config", config.toString(), "--ops-token-file", spaced.toString())).isEqualTo(2);
        assertThat(run("validate", "--config", config.toString(), "--ops-token-file", empty.toString()))
                .isEqualTo(2);
        env.put("DELTAFORGE_OPS_TOKEN", "half token");
        env.put("DELTAFORGE_OPS_TOKEN_FILE", spaced.toString());
        assertThat(run("run", "--config", config.toString())).isEqualTo(2);

        assertThat(err())
                .contains("error: --ops-token-file: secret file " + dir.resolve("nope") + " does not exist")
                .contains("error: the ops token from --ops-token-file " + empty + " is empty")
                .contains("error: the ops token from --ops-token-file " + spaced + " holds spaces")
                .contains("error: --ops-token-file is an option of run only")
                .contains("error: DELTAFORGE_OPS_TOKEN and DELTAFORGE_OPS_TOKEN_FILE are both set; set only one")
                .doesNotContain("half token");
    }
}
