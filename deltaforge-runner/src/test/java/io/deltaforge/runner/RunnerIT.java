package io.deltaforge.runner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.deltaforge.yaml.fixtures.SampleConfigs;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StreamConfiguration;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed YAML, verbatim, through the packaged runner jar in its own JVM, against real servers, with its
 * HTTP endpoints on; then SIGTERM, which must stop the pipeline gracefully with exit code 0.
 */
@Timeout(180)
class RunnerIT {
    private static final Path JAR = Path.of("target", "deltaforge-runner.jar");

    @Test
    @SuppressWarnings("try") // Connection.close() may throw InterruptedException; the test method throws anyway
    void seedPipelineRunsFromTheRunnerJarAndStopsCleanlyOnSigterm(@TempDir Path tmp) throws Exception {
        try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start()) {
            createSeedTables(pg);
            createStream(nats);
            Path log = tmp.resolve("runner.log");
            ProcessBuilder pb = new ProcessBuilder(javaBin(), "-jar", JAR.toAbsolutePath().toString(), "run",
                    "--config", SampleConfigs.SEED.toString(), "--metrics-port", "0",
                    "--metrics-bind", "127.0.0.1")
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("POSTGRES_DSN", pg.dsn());
            pb.environment().put("NATS_URL", nats.url());
            Process runner = pb.start();
            try {
                waitFor(() -> Files.readString(log).contains("pipeline(s) running"), Duration.ofSeconds(60), log);
                pg.execute("INSERT INTO public.users VALUES (1, 'Alice', 'alice@example.com', now())");
                waitFor(() -> messages(nats) >= 1, Duration.ofSeconds(60), log);

                Matcher port = Pattern.compile("http: serving .* on 127\\.0\\.0\\.1:(\\d+)")
                        .matcher(Files.readString(log));
                assertThat(port.find()).as(Files.readString(log)).isTrue();
                HttpClient http = HttpClient.newHttpClient();
                String base = "http://127.0.0.1:" + port.group(1);
                HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create(base + "/ready"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
                waitFor(() -> http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                                HttpResponse.BodyHandlers.ofString()).body()
                        .contains("deltaforge_events_delivered{pipeline=\"users-postgres-to-nats\"} 1.0"),
                        Duration.ofSeconds(30), log);

                runner.destroy(); // SIGTERM

                assertThat(runner.waitFor(60, TimeUnit.SECONDS)).as("runner exits").isTrue();
                assertThat(runner.exitValue()).as(Files.readString(log)).isZero();
                assertThat(Files.readString(log)).contains("stop requested");
                assertThat(messages(nats)).isEqualTo(1);
            } finally {
                runner.destroyForcibly();
            }
        }
    }

    @Test
    void aPipelineThatCannotStartEndsTheRunnerWithExitCodeOne(@TempDir Path tmp) throws Exception {
        try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start()) {
            // the tables but no publication: the source fails for good
            pg.execute("""
                    CREATE TABLE public.users (id int PRIMARY KEY);
                    CREATE TABLE public.profiles (id int PRIMARY KEY);
                    CREATE TABLE public.user_sessions (id int PRIMARY KEY);
                    """);
            createStream(nats);
            Path log = tmp.resolve("runner.log");
            ProcessBuilder pb = new ProcessBuilder(javaBin(), "-jar", JAR.toAbsolutePath().toString(), "run",
                    "--config", SampleConfigs.SEED.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("POSTGRES_DSN", pg.dsn());
            pb.environment().put("NATS_URL", nats.url());
            Process runner = pb.start();
            try {
                if (!runner.waitFor(60, TimeUnit.SECONDS)) {
                    Process jstack = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jstack")
                            .toString(), String.valueOf(runner.pid())).redirectErrorStream(true).start();
                    String dump = new String(jstack.getInputStream().readAllBytes());
                    throw new AssertionError("runner did not exit; log:\n" + tail(log) + "\nthreads:\n" + dump);
                }
                String out = Files.readString(log);
                assertThat(runner.exitValue()).as(out).isEqualTo(1);
                assertThat(out).contains("error: pipeline 'users-postgres-to-nats' failed to start: source "
                        + "'users-postgres': publication 'users_pub' does not exist");
            } finally {
                runner.destroyForcibly();
            }
        }
    }

    /** The seed example's tables and publication. */
    static void createSeedTables(PostgresServer pg) throws Exception {
        pg.execute("""
                CREATE TABLE public.users (id int PRIMARY KEY, name text, email text, created_at timestamptz);
                CREATE TABLE public.profiles (id int PRIMARY KEY, bio text);
                CREATE TABLE public.user_sessions (id int PRIMARY KEY, user_id int);
                CREATE PUBLICATION users_pub FOR TABLE public.users, public.profiles, public.user_sessions;
                """);
    }

    /** The seed example's stream. */
    @SuppressWarnings("try")
    static void createStream(NatsServer nats) throws Exception {
        try (Connection c = nats.connect()) {
            JetStreamManagement jsm = c.jetStreamManagement();
            jsm.addStream(StreamConfiguration.builder().name("USERS").subjects("users.events", "users.events.>")
                    .build());
        }
    }

    @SuppressWarnings("try")
    static long messages(NatsServer nats) throws Exception {
        try (Connection c = nats.connect()) {
            return c.jetStreamManagement().getStreamInfo("USERS").getStreamState().getMsgCount();
        }
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    interface Check {
        boolean ok() throws Exception;
    }

    static void waitFor(Check check, Duration timeout, Path log) throws IOException {
        try {
            await().atMost(timeout).pollInterval(Duration.ofMillis(200)).until(check::ok);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("timed out; runner log:\n" + tail(log), e);
        }
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }
}
