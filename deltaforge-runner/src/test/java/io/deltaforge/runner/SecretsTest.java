package io.deltaforge.runner;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Passwords in DSNs, URLs and settings never reach the console: neither the runner's own messages nor the
 * log (slf4j-simple writes to System.err, captured here).
 */
@Timeout(90)
class SecretsTest {
    private static final String PG_SECRET = "Pg-S3cret-Pw";
    private static final String NATS_SECRET = "Nats-S3cret-Pw";

    private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private final Map<String, String> env = new HashMap<>();
    private PrintStream originalErr;
    private PrintStream originalOut;
    @TempDir
    Path dir;

    @BeforeEach
    void captureLog() {
        originalErr = System.err;
        originalOut = System.out;
        PrintStream log = new PrintStream(logBytes, true, StandardCharsets.UTF_8);
        System.setErr(log);
        System.setOut(log);
    }

    @AfterEach
    void restoreLog() {
        System.setErr(originalErr);
        System.setOut(originalOut);
    }

    private String everything() {
        return outBytes.toString(StandardCharsets.UTF_8) + errBytes.toString(StandardCharsets.UTF_8)
                + logBytes.toString(StandardCharsets.UTF_8);
    }

    private int runner(Runner.Control control, String... args) {
        return Runner.execute(args, new PrintStream(outBytes, true, StandardCharsets.UTF_8),
                new PrintStream(errBytes, true, StandardCharsets.UTF_8), env::get, control);
    }

    private Path write(String sourceExtra, String sinkType, String sinkExtra) throws Exception {
        Path file = dir.resolve("p.yaml");
        Files.writeString(file, """
                apiVersion: deltaforge/v1
                kind: Pipeline
                metadata: {name: secrets}
                spec:
                  source:
                    type: postgres
                    config:
                      dsn: ${POSTGRES_DSN}
                      slot: s
                      publication: p
                """ + sourceExtra + """
                  sinks:
                    - type: %s
                      config:
                        id: out
                        envelope: {type: native}
                """.formatted(sinkType) + sinkExtra);
        return file;
    }

    @Test
    void validateNeverPrintsPasswordsEvenWhenTheirValuesAreWrong() throws Exception {
        env.put("POSTGRES_DSN", "postgres://app:" + PG_SECRET + "@127.0.0.1:notaport/db?password=" + PG_SECRET);
        Path file = write("      start_position: sometime\n", "nats", """
                        url: nats://user:%s@127.0.0.1:x
                        subject: a
                        stream: S
                        password: %s
                        token: %s
                """.formatted(NATS_SECRET, NATS_SECRET, NATS_SECRET));

        assertThat(runner(Runner.Control.PROCESS, "validate", "--config", file.toString())).isEqualTo(2);

        assertThat(errBytes.toString(StandardCharsets.UTF_8)).contains("spec.source.config.dsn")
                .contains("spec.sinks[0].config.url");
        assertThat(everything()).doesNotContain(PG_SECRET).doesNotContain(NATS_SECRET);
    }

    @Test
    void runNeverLogsTheDsnPasswordWhileTheServerIsUnreachable() throws Exception {
        // Port 1 on loopback refuses connections: the source fails and retries, logging as it goes.
        env.put("POSTGRES_DSN", "postgres://app:" + PG_SECRET + "@127.0.0.1:1/db");
        Path file = write("", "test-sink", "");
        CompletableFuture<Void> stop = new CompletableFuture<>();
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> runner(
                new Runner.Control(stop, a -> { }), "run", "--config", file.toString(), "--progress-interval", "1",
                "--drain-timeout", "2"));
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            // Wait for a retry message and a progress line, or for the runner to give up.
            while (!exit.isDone() && System.nanoTime() < deadline
                    && !(everything().contains("events received") && everything().contains("127.0.0.1"))) {
                Thread.sleep(50);
            }
        } finally {
            stop.complete(null);
        }
        exit.get(60, TimeUnit.SECONDS);

        assertThat(everything()).contains("127.0.0.1", "events received").doesNotContain(PG_SECRET);
    }

    @Test
    void secretsFromFilesAreUsedButNeverPrinted() throws Exception {
        Path pgPassword = dir.resolve("pg-password");
        Files.writeString(pgPassword, PG_SECRET + "\n");
        Path natsPassword = dir.resolve("nats-password");
        Files.writeString(natsPassword, NATS_SECRET + "\n");
        // A file's content where a provider quotes a bad value: the message shows *** instead.
        Path file = write("      start_position: ${file:" + natsPassword + "}\n", "nats", """
                        url: nats://127.0.0.1:4222
                        subject: a
                        stream: S
                        username: app
                        password: ${file:%s}
                """.formatted(natsPassword));
        Files.writeString(file, Files.readString(file).replace("${POSTGRES_DSN}",
                "postgres://app:${file:" + pgPassword + "}@127.0.0.1:5432/db"));

        assertThat(runner(Runner.Control.PROCESS, "validate", "--config", file.toString())).isEqualTo(2);

        assertThat(errBytes.toString(StandardCharsets.UTF_8)).contains("spec.source.config.start_position")
                .contains("***").doesNotContain("spec.source.config.dsn").doesNotContain("spec.sinks[0]");
        assertThat(everything()).doesNotContain(PG_SECRET).doesNotContain(NATS_SECRET);
    }

    @Test
    void anUnreadableSecretFileIsAProblemNamingThePathAndTheFile() throws Exception {
        Path missing = dir.resolve("no-such-secret");
        Path file = write("", "test-sink", "");
        Files.writeString(file, Files.readString(file).replace("${POSTGRES_DSN}",
                "postgres://app:${file:" + missing + "}@127.0.0.1:5432/db"));

        assertThat(runner(Runner.Control.PROCESS, "validate", "--config", file.toString())).isEqualTo(2);

        assertThat(errBytes.toString(StandardCharsets.UTF_8)).contains("spec.source.config.dsn (line 8, column ")
                .contains("secret file " + missing + " does not exist");
    }
}
