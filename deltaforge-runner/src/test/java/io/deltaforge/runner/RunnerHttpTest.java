package io.deltaforge.runner;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.yaml.fixtures.SampleConfigs;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code run --metrics-port}: the runner's endpoints over real HTTP, with the test providers. */
@Timeout(60)
class RunnerHttpTest {
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    @TempDir
    Path dir;

    private HttpResponse<String> get(InetSocketAddress at, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + at.getPort() + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void runServesHealthReadyAndPipelineMetricsUntilStopped() throws Exception {
        Path file = dir.resolve("p.yaml");
        Files.writeString(file, SampleConfigs.VALID);
        CompletableFuture<Void> stop = new CompletableFuture<>();
        CompletableFuture<InetSocketAddress> http = new CompletableFuture<>();
        Map<String, String> env = new HashMap<>();
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> Runner.execute(
                new String[] {"run", "--config", file.toString(), "--metrics-port", "0", "--metrics-bind", "127.0.0.1",
                        "--progress-interval", "0"},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(errBytes, true, StandardCharsets.UTF_8), env::get,
                new Runner.Control(stop, http::complete)));
        try {
            InetSocketAddress at = http.get(30, TimeUnit.SECONDS);

            HttpResponse<String> ready = awaitReady(at);
            assertThat(ready.body()).contains("\"name\":\"users\",\"state\":\"RUNNING\"");
            HttpResponse<String> health = get(at, "/health");
            assertThat(health.statusCode()).isEqualTo(200);
            HttpResponse<String> metrics = get(at, "/metrics");
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("deltaforge_events_received{pipeline=\"users\"}")
                    .contains("jvm_memory_used_bytes");
        } finally {
            stop.complete(null);
        }
        assertThat(exit.get(30, TimeUnit.SECONDS)).as(errBytes.toString(StandardCharsets.UTF_8)).isZero();
    }

    private HttpResponse<String> awaitReady(InetSocketAddress at) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            HttpResponse<String> r = get(at, "/ready");
            if (r.statusCode() == 200 || System.nanoTime() > deadline) {
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                return r;
            }
            Thread.sleep(50);
        }
    }

    private HttpResponse<String> post(InetSocketAddress at, String path, String... headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + at.getPort() + path))
                .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.noBody());
        if (headers.length > 0) {
            request.headers(headers);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Runs the runner with HTTP on a free port until {@code whileRunning} returns; asserts exit 0. */
    private void withRunner(Map<String, String> env, List<String> extraArgs, HttpCheck whileRunning) throws Exception {
        Path file = dir.resolve("p.yaml");
        Files.writeString(file, SampleConfigs.VALID);
        List<String> args = new ArrayList<>(List.of("run", "--config", file.toString(), "--metrics-port", "0",
                "--progress-interval", "0"));
        args.addAll(extraArgs);
        CompletableFuture<Void> stop = new CompletableFuture<>();
        CompletableFuture<InetSocketAddress> http = new CompletableFuture<>();
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> Runner.execute(
                args.toArray(String[]::new), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(errBytes, true, StandardCharsets.UTF_8), env::get,
                new Runner.Control(stop, http::complete)));
        try {
            CompletableFuture.anyOf(http, exit).get(30, TimeUnit.SECONDS);
            assertThat(http).as("the runner exited: %s", errBytes.toString(StandardCharsets.UTF_8)).isDone();
            whileRunning.check(http.get());
        } finally {
            stop.complete(null);
        }
        assertThat(exit.get(30, TimeUnit.SECONDS)).as(errBytes.toString(StandardCharsets.UTF_8)).isZero();
    }

    private interface HttpCheck {
        void check(InetSocketAddress at) throws Exception;
    }

    @Test
    void httpListensOnLoopbackByDefaultAndTakesTheOpsTokenFromAFile() throws Exception {
        Path tokenFile = dir.resolve("ops-token");
        Files.writeString(tokenFile, "s3cret-ops-token\n");

        withRunner(Map.of("DELTAFORGE_OPS_TOKEN_FILE", tokenFile.toString()), List.of(), at -> {
            assertThat(at.getAddress().getHostAddress()).isEqualTo("127.0.0.1");
            awaitReady(at);
            assertThat(post(at, "/pipelines/users/pause").statusCode()).isEqualTo(401);
            HttpResponse<String> paused = post(at, "/pipelines/users/pause",
                    "Authorization", "Bearer s3cret-ops-token");
            assertThat(paused.statusCode()).as(paused.body()).isEqualTo(200);
            assertThat(paused.body()).contains("\"state\":\"PAUSED\"");
        });
    }

    @Test
    void theBindAddressComesFromTheEnvironmentAndWithoutATokenPostsAreRefused() throws Exception {
        withRunner(Map.of("DELTAFORGE_METRICS_BIND", "0.0.0.0"), List.of(), at -> {
            assertThat(at.getAddress().isAnyLocalAddress()).as(at.toString()).isTrue();
            awaitReady(at);
            HttpResponse<String> refused = post(at, "/pipelines/users/pause", "Authorization", "Bearer anything");
            assertThat(refused.statusCode()).isEqualTo(403);
            assertThat(refused.body()).contains("no ops token is configured");
            assertThat(get(at, "/ready").statusCode()).as("still running").isEqualTo(200);
        });
    }

    @Test
    void aSnapshotConditionOutsideTheGrammarIsRefusedWith400NamingItsPosition() throws Exception {
        withRunner(Map.of("DELTAFORGE_OPS_TOKEN", "t0ken"), List.of(), at -> {
            awaitReady(at);
            HttpResponse<String> injected = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + at.getPort() + "/pipelines/users/snapshot")).timeout(Duration.ofSeconds(10))
                    .header("Authorization", "Bearer t0ken")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"tables\":[\"public.users\"],\"condition\":"
                            + "\"id = 1; DROP TABLE users\"}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(injected.statusCode()).isEqualTo(400);
            assertThat(injected.body()).contains("condition at position 7: ';' is not allowed");
        });
    }

    @Test
    void theOpsTokenFileOptionWinsOverTheEnvironment() throws Exception {
        Path tokenFile = dir.resolve("ops-token");
        Files.writeString(tokenFile, "from-the-option\r\n");

        withRunner(Map.of("DELTAFORGE_OPS_TOKEN", "from-the-environment"),
                List.of("--ops-token-file", tokenFile.toString(), "--metrics-bind", "127.0.0.1"), at -> {
                    awaitReady(at);
                    assertThat(post(at, "/pipelines/users/resume", "Authorization", "Bearer from-the-environment")
                            .statusCode()).isEqualTo(403);
                    assertThat(post(at, "/pipelines/users/resume", "Authorization", "Bearer from-the-option")
                            .statusCode()).isEqualTo(200);
                });
    }
}
