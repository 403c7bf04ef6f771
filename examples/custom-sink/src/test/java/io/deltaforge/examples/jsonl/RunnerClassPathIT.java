package io.deltaforge.examples.jsonl;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The packaged runner, unchanged, picks up this example's sink from the class path (what
 * {@code DELTAFORGE_CLASSPATH=my-sink.jar ./deltaforge ...} does), and names the available types without it.
 */
@Timeout(120)
class RunnerClassPathIT {
    private static final Path RUNNER = Path.of("..", "..", "deltaforge-runner", "target", "deltaforge-runner.jar");

    @Test
    void theRunnerFindsAUserSinkOnItsClassPathWithNoCodeChange() throws Exception {
        assertThat(RUNNER).as("built by deltaforge-runner's package phase").exists();
        Run without = validate(RUNNER.toString());
        assertThat(without.exit).as(without.output).isEqualTo(2);
        assertThat(without.output).contains("unknown sink type 'jsonl'; available: nats");

        Run with = validate(RUNNER + File.pathSeparator + Path.of("target", "classes"));
        assertThat(with.exit).as(with.output).isZero();
        assertThat(with.output).contains("ok: 1 pipeline(s) valid");
    }

    private record Run(int exit, String output) {
    }

    private static Run validate(String classPath) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(List.of(java.toString(), "-cp", classPath, "io.deltaforge.runner.Runner",
                "validate", "--config", "pipeline.yaml")).redirectErrorStream(true);
        pb.environment().put("POSTGRES_DSN", "postgres://u:p@127.0.0.1:5432/db");
        pb.environment().put("NATS_URL", "nats://127.0.0.1:4222");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out);
    }
}
