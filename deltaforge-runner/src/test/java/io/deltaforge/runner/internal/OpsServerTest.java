package io.deltaforge.runner.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.api.PipelineStatus;
import io.deltaforge.api.SnapshotRequest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The HTTP endpoints over real HTTP, with pipelines whose status the test sets. */
@Timeout(30)
class OpsServerTest {
    private static final String TOKEN = "0p5-t0ken-for-tests";
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final StatusPipeline users = new StatusPipeline("users");
    private final StatusPipeline orders = new StatusPipeline("orders");
    private @Nullable OpsServer server;

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
        registry.close();
    }

    /** A pipeline that only reports the status the test gives it. */
    static final class StatusPipeline implements Pipeline {
        final String name;
        volatile PipelineStatus status;

        StatusPipeline(String name) {
            this.name = name;
            this.status = new PipelineStatus(name, PipelineState.NEW, null, 0, 0, null);
        }

        void set(PipelineState state, @Nullable Throwable failure) {
            status = new PipelineStatus(name, state, new Lsn(0x16B3748), 12, 10, failure);
        }

        @Override public String name() { return name; }
        @Override public void start() { }
        @Override public void stop() { }
        @Override public boolean stop(Duration drainTimeout) { return true; }
        @Override public boolean awaitTermination(Duration timeout) { return true; }
        @Override public CompletionStage<Void> termination() { return new CompletableFuture<>(); }
        @Override public PipelineStatus status() { return status; }
        @Override public void close() { }
        @Override public void pause() { set(PipelineState.PAUSED, null); }
        @Override public void resume() { set(PipelineState.RUNNING, null); }
        @Override public Pipeline.Builder toBuilder() { throw new UnsupportedOperationException(); }

        final List<SnapshotRequest> snapshots = new CopyOnWriteArrayList<>();

        @Override
        public void snapshot(SnapshotRequest request) {
            if (name.equals("orders")) {
                throw new UnsupportedOperationException("source 'orders' cannot take incremental snapshots");
            }
            if (request.tables().contains("public.missing")) {
                throw new ConfigException("tables", "public.missing is not captured");
            }
            snapshots.add(request);
        }
    }

    private HttpResponse<String> get(String path) throws Exception {
        return send(HttpRequest.newBuilder(uri(path)).GET());
    }

    /** With the ops token, which GET endpoints ignore. */
    private HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return sendAs(request.header("Authorization", "Bearer " + TOKEN));
    }

    private HttpResponse<String> sendAs(HttpRequest.Builder request) throws Exception {
        return client.send(request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.address().getPort() + path);
    }

    private void start() throws Exception {
        server = OpsServer.start(new InetSocketAddress("127.0.0.1", 0), List.of(users, orders), registry, TOKEN);
    }

    @Test
    void healthIsOkWithEachPipelineStatusWhileNoneFailed() throws Exception {
        start();
        users.set(PipelineState.RUNNING, null);

        HttpResponse<String> r = get("/health");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json; charset=utf-8");
        assertThat(r.body()).isEqualTo("{\"status\":\"ok\",\"pipelines\":["
                + "{\"name\":\"users\",\"state\":\"RUNNING\",\"checkpoint\":\"" + new Lsn(0x16B3748)
                + "\",\"events_received\":12,\"events_delivered\":10,\"failure\":null,\"degraded\":null},"
                + "{\"name\":\"orders\",\"state\":\"NEW\",\"checkpoint\":null,\"events_received\":0,"
                + "\"events_delivered\":0,\"failure\":null,\"degraded\":null}]}\n");
    }

    @Test
    void healthIs503WithTheCauseWhenAPipelineFailed() throws Exception {
        start();
        users.set(PipelineState.RUNNING, null);
        orders.set(PipelineState.FAILED, new DeltaforgeException("publication orders_pub does not exist"));

        HttpResponse<String> r = get("/health");

        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).startsWith("{\"status\":\"unavailable\"")
                .contains("\"state\":\"FAILED\"", "\"failure\":\"publication orders_pub does not exist\"");
    }

    @Test
    void readyIs503WithTheReasonWhileARunningPipelineIsDegradedButHealthStaysOk() throws Exception {
        start();
        users.set(PipelineState.RUNNING, null);
        orders.status = new PipelineStatus("orders", PipelineState.RUNNING, null, 0, 0, null,
                "replication slot 'orders_slot' lags 2000000 bytes behind the server's WAL, over max_lag_bytes 1000000");

        HttpResponse<String> ready = get("/ready");
        assertThat(ready.statusCode()).isEqualTo(503);
        assertThat(ready.body()).contains("\"degraded\":\"replication slot 'orders_slot' lags 2000000 bytes");
        assertThat(get("/health").statusCode()).isEqualTo(200);

        orders.set(PipelineState.RUNNING, null);
        assertThat(get("/ready").statusCode()).isEqualTo(200);
    }

    @Test
    void readyIsOkOnlyWhenEveryPipelineRuns() throws Exception {
        start();
        users.set(PipelineState.RUNNING, null);
        orders.set(PipelineState.STARTING, null);
        assertThat(get("/ready").statusCode()).isEqualTo(503);

        orders.set(PipelineState.RUNNING, null);
        assertThat(get("/ready").statusCode()).isEqualTo(200);

        orders.set(PipelineState.STOPPING, null);
        assertThat(get("/ready").statusCode()).isEqualTo(503);
    }

    @Test
    void aPipelineIsPausedAndResumedByPost() throws Exception {
        start();
        users.set(PipelineState.RUNNING, null);

        HttpResponse<String> paused = send(HttpRequest.newBuilder(uri("/pipelines/users/pause"))
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(paused.statusCode()).isEqualTo(200);
        assertThat(paused.body()).contains("\"state\":\"PAUSED\"");
        assertThat(get("/ready").statusCode()).isEqualTo(503);

        HttpResponse<String> resumed = send(HttpRequest.newBuilder(uri("/pipelines/users/resume"))
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(resumed.body()).contains("\"state\":\"RUNNING\"");
        assertThat(get("/pipelines/users/pause").statusCode()).isEqualTo(405);
        assertThat(send(HttpRequest.newBuilder(uri("/pipelines/nobody/pause"))
                .POST(HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(404);
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return send(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    @Test
    void anIncrementalSnapshotIsRequestedByPostWithTablesAndCondition() throws Exception {
        start();
        users.set(PipelineState.RUNNING, null);

        HttpResponse<String> r = post("/pipelines/users/snapshot",
                "{\"tables\":[\"public.users\"],\"condition\":\"id > 10\"}");
        HttpResponse<String> all = post("/pipelines/users/snapshot", "{\"tables\":[\"public.users\"]}");

        assertThat(r.statusCode()).isEqualTo(202);
        assertThat(all.statusCode()).isEqualTo(202);
        assertThat(users.snapshots).containsExactly(new SnapshotRequest(List.of("public.users"), "id > 10"),
                SnapshotRequest.of("public.users"));
    }

    @Test
    void aBadSnapshotRequestIsRefusedNamingTheProblem() throws Exception {
        start();
        users.set(PipelineState.RUNNING, null);

        assertThat(post("/pipelines/users/snapshot", "not json").body())
                .startsWith("bad snapshot request").contains("\"tables\":[\"public.users\"]");
        assertThat(post("/pipelines/users/snapshot", "{\"tables\":[]}").body())
                .contains("\"tables\" must be a non-empty array");
        assertThat(post("/pipelines/users/snapshot", "{\"tables\":[\"t\"],\"where\":\"x\"}").body())
                .contains("unknown field \"where\"");
        HttpResponse<String> injected = post("/pipelines/users/snapshot",
                "{\"tables\":[\"public.users\"],\"condition\":\"id > 0 OR pg_sleep(5) IS NULL\"}");
        assertThat(injected.statusCode()).isEqualTo(400);
        assertThat(injected.body()).startsWith("bad snapshot request: ")
                .contains("condition at position 11: function calls such as pg_sleep(…) are not allowed");
        assertThat(post("/pipelines/users/snapshot",
                "{\"tables\":[\"public.users\"],\"condition\":\"1=1) UNION SELECT passwd FROM pg_shadow --\"}")
                .body()).contains("condition at position 1: expected a column name");
        HttpResponse<String> refused = post("/pipelines/users/snapshot", "{\"tables\":[\"public.missing\"]}");
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.body()).contains("snapshot refused", "public.missing is not captured");
        assertThat(post("/pipelines/orders/snapshot", "{\"tables\":[\"public.orders\"]}").statusCode())
                .as("a pipeline whose source cannot take snapshots").isEqualTo(400);
        assertThat(users.snapshots).isEmpty();
    }

    @Test
    void metricsAreInPrometheusTextFormat() throws Exception {
        start();
        Counter.builder("deltaforge.test.events").tag("pipeline", "users").register(registry).increment(3);

        HttpResponse<String> r = get("/metrics");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        assertThat(r.body()).contains("deltaforge_test_events_total{pipeline=\"users\"} 3.0");
    }

    @Test
    void otherPathsAre404AndOtherMethods405() throws Exception {
        start();

        assertThat(get("/nope").statusCode()).isEqualTo(404);
        HttpResponse<String> post = send(HttpRequest.newBuilder(uri("/health")).POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
    }

    @Test
    void mutatingEndpointsNeedTheBearerToken() throws Exception {
        start();
        users.set(PipelineState.RUNNING, null);
        HttpRequest.Builder pause = HttpRequest.newBuilder(uri("/pipelines/users/pause"))
                .POST(HttpRequest.BodyPublishers.noBody());

        HttpResponse<String> none = sendAs(pause.copy());
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
        assertThat(none.body()).contains("Authorization: Bearer <token>");
        assertThat(sendAs(pause.copy().header("Authorization", "Basic " + TOKEN)).statusCode()).isEqualTo(401);
        HttpResponse<String> wrong = sendAs(pause.copy().header("Authorization", "Bearer " + TOKEN + "x"));
        assertThat(wrong.statusCode()).isEqualTo(403);
        assertThat(sendAs(pause.copy().header("Authorization", "Bearer " + TOKEN.substring(1))).statusCode())
                .isEqualTo(403);
        assertThat(users.status().state()).as("refused requests change nothing").isEqualTo(PipelineState.RUNNING);
        assertThat(wrong.body()).doesNotContain(TOKEN);

        assertThat(sendAs(pause.copy().header("Authorization", "bearer  " + TOKEN)).statusCode()).isEqualTo(200);
        assertThat(users.status().state()).isEqualTo(PipelineState.PAUSED);
    }

    @Test
    void withoutAConfiguredTokenMutatingEndpointsAreOffAndSayHowToEnableThem() throws Exception {
        server = OpsServer.start(new InetSocketAddress("127.0.0.1", 0), List.of(users, orders), registry, null);
        users.set(PipelineState.RUNNING, null);

        for (String action : List.of("pause", "resume", "snapshot")) {
            HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/pipelines/users/" + action))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"tables\":[\"public.users\"]}")));
            assertThat(r.statusCode()).as(action).isEqualTo(403);
            assertThat(r.body()).contains("disabled", "DELTAFORGE_OPS_TOKEN", "--ops-token-file");
        }
        assertThat(users.status().state()).isEqualTo(PipelineState.RUNNING);
        assertThat(users.snapshots).isEmpty();
        assertThat(get("/health").statusCode()).isEqualTo(200);
        assertThat(get("/metrics").statusCode()).isEqualTo(200);
    }

    /** A raw HTTP/1.1 exchange: what the JDK client cannot do, such as stopping halfway through a request. */
    private String raw(String request) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", server.address().getPort())) {
            socket.setSoTimeout(5_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            try {
                socket.getInputStream().transferTo(got);
            } catch (SocketTimeoutException e) {
                throw new AssertionError("no end of the answer within 5 s; received: "
                        + got.toString(StandardCharsets.ISO_8859_1));
            }
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private String postHeaders(String path, String extraHeaders) {
        return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + TOKEN + "\r\n"
                + extraHeaders + "\r\n";
    }

    @Test
    void aBodyDeclaredLargerThanTheLimitIsRefusedWithoutWaitingForIt() throws Exception {
        start();
        users.set(PipelineState.RUNNING, null);

        // Only the headers are sent: an answer before the socket timeout shows the body was not awaited.
        String response = raw(postHeaders("/pipelines/users/snapshot", "Content-Length: 10000000\r\n"));

        assertThat(response).startsWith("HTTP/1.1 413").contains("larger than 65536 bytes");
        assertThat(users.snapshots).isEmpty();
    }

    @Test
    void aChunkedBodyLargerThanTheLimitIsRefused() throws Exception {
        start();
        users.set(PipelineState.RUNNING, null);
        int size = 64 * 1024 + 1;

        String response = raw(postHeaders("/pipelines/users/snapshot", "Transfer-Encoding: chunked\r\n")
                + Integer.toHexString(size) + "\r\n" + "x".repeat(size) + "\r\n0\r\n\r\n");

        assertThat(response).startsWith("HTTP/1.1 413");
        assertThat(users.snapshots).isEmpty();
    }

    @Test
    void aClientThatNeverFinishesItsRequestIsCutOffAtTheDeadline() throws Exception {
        server = OpsServer.start(new InetSocketAddress("127.0.0.1", 0), List.of(users, orders), registry, TOKEN,
                Duration.ofMillis(300));
        users.set(PipelineState.RUNNING, null);

        // Each would block its thread for good; the 5 s socket timeout fails the test unless the server
        // closes the connection first.
        assertThat(raw(postHeaders("/pipelines/users/snapshot", "Content-Length: 100\r\n") + "{\"tab"))
                .as("body never finished").isEmpty();
        assertThat(raw("GET /health HTTP/1.1\r\nHost: localhost\r\n")).as("headers never finished").isEmpty();

        assertThat(get("/health").statusCode()).isEqualTo(200);
        assertThat(users.snapshots).isEmpty();
    }
}
