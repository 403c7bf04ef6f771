package io.deltaforge.examples.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The application as its own pom makes it: PostgreSQL, NATS and the envelopes with BouncyCastle excluded (no
 * NKey or .creds authentication), and neither the CloudEvents SDK nor jackson-databind. Its run-time class path
 * stays small, and {@link UsersToNats} started on exactly that class path streams into JetStream and stops
 * cleanly on SIGTERM.
 */
@Timeout(180)
class SlimClassPathIT {
    private static final Path CLASSES = Path.of("target", "classes").toAbsolutePath();
    private static final Path RUNTIME_CLASSPATH = Path.of("target", "runtime-classpath.txt");
    /** The logging binding is the application's choice, so it does not count. */
    private static final String BINDING = "slf4j-simple-";

    @Test
    void theEmbeddedPipelineRunsOnASlimClassPath(@TempDir Path tmp) throws Exception {
        List<Path> jars = Arrays.stream(Files.readString(RUNTIME_CLASSPATH).trim().split(File.pathSeparator))
                .map(Path::of).toList();
        List<String> names = jars.stream().map(j -> j.getFileName().toString()).toList();
        assertThat(names).noneMatch(n -> n.startsWith("bcprov")).noneMatch(n -> n.startsWith("cloudevents"))
                .noneMatch(n -> n.startsWith("jackson-databind")).noneMatch(n -> n.startsWith("checker-qual"));
        List<Path> library = jars.stream().filter(j -> !j.getFileName().toString().startsWith(BINDING)).toList();
        long bytes = 0;
        for (Path jar : library) {
            bytes += Files.size(jar);
        }
        System.out.printf("SlimClassPathIT: %d jars, %.2f MB (without the logging binding): %s%n", library.size(),
                bytes / 1e6, names);
        assertThat(library).as("jars besides the logging binding").hasSizeLessThanOrEqualTo(12);
        assertThat(bytes).as("bytes of those jars").isLessThanOrEqualTo(6_000_000L);

        try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start();
             Connection nc = nats.connect()) {
            UsersToNatsIT.createTableAndStream(pg, nc);
            Path log = tmp.resolve("app.log");
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                    CLASSES + File.pathSeparator + String.join(File.pathSeparator, jars.stream().map(Path::toString)
                            .toList()), UsersToNats.class.getName()));
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("POSTGRES_DSN", pg.dsn());
            pb.environment().put("NATS_URL", nats.url());
            Process app = pb.start();
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> Files.readString(log).contains("streaming")
                        || !app.isAlive());
                assertThat(app.isAlive()).as(Files.readString(log)).isTrue();
                pg.execute("INSERT INTO users (name, email) VALUES ('Alice', 'alice@example.com')");
                await().atMost(Duration.ofSeconds(60)).until(() ->
                        nc.jetStreamManagement().getStreamInfo("USERS").getStreamState().getMsgCount() == 1);

                app.destroy(); // SIGTERM: the application's shutdown hook stops the pipeline

                assertThat(app.waitFor(60, TimeUnit.SECONDS)).as("the application exits").isTrue();
                assertThat(Files.readString(log)).doesNotContain("NoClassDefFoundError", "ClassNotFoundException");
            } finally {
                app.destroyForcibly();
            }
            String body = new String(nc.jetStreamManagement().getMessage("USERS", 1).getData(), StandardCharsets.UTF_8);
            assertThat(body).contains("\"type\":\"com.acme.users.created\"").contains("\"name\":\"Alice\"");
        }
    }
}
