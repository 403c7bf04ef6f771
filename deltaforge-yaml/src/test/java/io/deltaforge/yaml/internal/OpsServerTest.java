package io.deltaforge.yaml.internal;

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
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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

    private HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return client.send(request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.address().getPort() + path);
    }

    private void start() throws Exception {
        server = OpsServer.start(new InetSocketAddress("127.0.0.1", 0), List.of(users, orders), registry);
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
}
