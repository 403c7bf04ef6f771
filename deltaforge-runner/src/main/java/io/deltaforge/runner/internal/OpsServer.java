package io.deltaforge.runner.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineStatus;
import io.deltaforge.api.SnapshotRequest;
import io.deltaforge.yaml.internal.Causes;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runner's HTTP endpoints, on the JDK's built-in server:
 * <ul>
 *   <li>{@code GET /health}: 200 unless a pipeline FAILED (then 503); JSON with every pipeline's status</li>
 *   <li>{@code GET /ready}: 200 when every pipeline is RUNNING and not degraded (see
 *       {@link PipelineStatus#ready()}), else 503; the same JSON, with each degraded pipeline's reason</li>
 *   <li>{@code GET /metrics}: Prometheus text format</li>
 *   <li>{@code POST /pipelines/NAME/pause} and {@code .../resume}</li>
 *   <li>{@code POST /pipelines/NAME/snapshot} with {@code {"tables":["public.users"],"condition":"id > 10"}}
 *       ({@code condition} optional, in the filter grammar of {@link SnapshotRequest}, never SQL): starts an
 *       incremental snapshot; 202 when accepted, 400 naming the problem (and, for a condition, its position)
 *       otherwise</li>
 * </ul>
 * The {@code GET} endpoints are open. The {@code POST} ones change a pipeline (a pause lets WAL pile up on
 * the database; a snapshot reads whole tables), so they are off unless a token is configured, and then
 * need {@code Authorization: Bearer <token>}: 401 without one, 403 with a wrong one. While they are off
 * they answer 403 saying how to turn them on: the request is understood and the path exists, so 404 would
 * only send an operator looking for a typo.
 *
 * <p>Bodies over {@value #MAX_BODY_BYTES} bytes get 413, and every exchange has a deadline (see
 * {@link DeadlineExecutor}), so a slow or oversized client cannot hold the server.
 * No body holds configuration, so secrets cannot leak through it.
 * A few daemon threads serve requests; {@link #close()} stops them.
 */
public final class OpsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OpsServer.class);
    private static final String JSON = "application/json; charset=utf-8";
    private static final String TEXT = "text/plain; charset=utf-8";
    private static final int MAX_BODY_BYTES = 64 * 1024;
    private static final Duration REQUEST_DEADLINE = Duration.ofSeconds(10);
    private static final int THREADS = 4;
    private static final int QUEUED = 16;
    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final HttpServer server;
    private final DeadlineExecutor executor;
    private final BearerAuth auth;
    private final List<Pipeline> pipelines;
    private final PrometheusMeterRegistry registry;
    private final ObjectMapper json = new ObjectMapper();

    private OpsServer(HttpServer server, DeadlineExecutor executor, BearerAuth auth, List<Pipeline> pipelines,
                      PrometheusMeterRegistry registry) {
        this.server = server;
        this.executor = executor;
        this.auth = auth;
        this.pipelines = pipelines;
        this.registry = registry;
    }

    /**
     * Binds and starts serving.
     *
     * @param address  where to listen; port 0 picks a free one (see {@link #address()})
     * @param opsToken the bearer token that the POST endpoints require; null turns them off
     * @throws IOException when the address cannot be bound, e.g. the port is taken
     */
    public static OpsServer start(InetSocketAddress address, List<Pipeline> pipelines, PrometheusMeterRegistry registry,
                                  @Nullable String opsToken) throws IOException {
        return start(address, pipelines, registry, opsToken, REQUEST_DEADLINE);
    }

    /** As above, with the time one exchange may take from its first byte to its response. */
    static OpsServer start(InetSocketAddress address, List<Pipeline> pipelines, PrometheusMeterRegistry registry,
                           @Nullable String opsToken, Duration requestDeadline) throws IOException {
        HttpServer server = HttpServer.create(address, 16);
        DeadlineExecutor executor = new DeadlineExecutor(THREADS, QUEUED, requestDeadline);
        server.setExecutor(executor);
        BearerAuth auth = new BearerAuth(opsToken);
        OpsServer ops = new OpsServer(server, executor, auth, List.copyOf(pipelines), registry);
        server.createContext("/", ops::handle);
        server.start();
        log.info(auth.enabled()
                ? "http: POST /pipelines/NAME/pause|resume|snapshot enabled; they need the ops token as a bearer token"
                : "http: POST /pipelines/NAME/pause|resume|snapshot disabled; set DELTAFORGE_OPS_TOKEN, "
                        + "DELTAFORGE_OPS_TOKEN_FILE or --ops-token-file to enable them");
        log.info("http: serving /health, /ready, /metrics and /pipelines on {}:{}", address.getHostString(),
                server.getAddress().getPort());
        return ops;
    }

    /** The bound address, with the actual port. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (RequestBody.declaredOver(ex, MAX_BODY_BYTES)) {
                tooLarge(ex);
                return;
            }
            String path = ex.getRequestURI().getPath();
            boolean get = ex.getRequestMethod().equals("GET") || ex.getRequestMethod().equals("HEAD");
            if (path.startsWith("/pipelines/")) {
                pipelineAction(ex, path);
                return;
            }
            switch (path) {
                case "/health", "/ready", "/metrics" -> {
                    if (!get) {
                        ex.getResponseHeaders().set("Allow", "GET, HEAD");
                        send(ex, 405, TEXT, "method not allowed; use GET\n");
                        return;
                    }
                }
                default -> {
                    send(ex, 404, TEXT,
                            "not found; try /health, /ready, /metrics or POST /pipelines/NAME/pause|resume|snapshot\n");
                    return;
                }
            }
            if (path.equals("/metrics")) {
                send(ex, 200, PROMETHEUS_TEXT, registry.scrape());
                return;
            }
            List<PipelineStatus> statuses = pipelines.stream().map(Pipeline::status).toList();
            boolean ok = path.equals("/health")
                    ? statuses.stream().allMatch(PipelineStatus::healthy)
                    : !statuses.isEmpty() && statuses.stream().allMatch(PipelineStatus::ready);
            send(ex, ok ? 200 : 503, JSON, body(ok, statuses));
        } catch (RuntimeException e) {
            log.warn("http: {} {} failed: {}", ex.getRequestMethod(), ex.getRequestURI().getPath(), Causes.oneLine(e));
        }
    }

    /** {@code POST /pipelines/NAME/pause|resume|snapshot}; answers with the pipeline's status. */
    private void pipelineAction(HttpExchange ex, String path) throws IOException {
        String[] parts = path.split("/");
        if (parts.length != 4 || !List.of("pause", "resume", "snapshot").contains(parts[3])) {
            send(ex, 404, TEXT, "not found; use POST /pipelines/NAME/pause, /resume or /snapshot\n");
            return;
        }
        if (!ex.getRequestMethod().equals("POST")) {
            ex.getResponseHeaders().set("Allow", "POST");
            send(ex, 405, TEXT, "method not allowed; use POST\n");
            return;
        }
        if (!authorized(ex)) {
            return;
        }
        Pipeline pipeline = pipelines.stream().filter(p -> p.name().equals(parts[2])).findFirst().orElse(null);
        if (pipeline == null) {
            send(ex, 404, TEXT, "no pipeline named '" + parts[2] + "'\n");
            return;
        }
        switch (parts[3]) {
            case "pause" -> pipeline.pause();
            case "resume" -> pipeline.resume();
            default -> {
                if (!snapshot(ex, pipeline)) {
                    return;
                }
            }
        }
        PipelineStatus status = pipeline.status();
        send(ex, parts[3].equals("snapshot") ? 202 : 200, JSON, body(status.healthy(), List.of(status)));
    }

    /** Starts an incremental snapshot; false when it answered with an error already. */
    private boolean snapshot(HttpExchange ex, Pipeline pipeline) throws IOException {
        SnapshotRequest request;
        try {
            request = snapshotRequest(json.readTree(RequestBody.read(ex, MAX_BODY_BYTES)));
        } catch (RequestBody.TooLarge e) {
            tooLarge(ex);
            return false;
        } catch (IOException | IllegalArgumentException e) {
            send(ex, 400, TEXT, "bad snapshot request: " + Causes.oneLine(e) + "; expected a JSON body like "
                    + "{\"tables\":[\"public.users\"],\"condition\":\"id > 100\"} (condition optional)\n");
            return false;
        }
        try {
            pipeline.snapshot(request);
            return true;
        } catch (DeltaforgeException | IllegalStateException | UnsupportedOperationException e) {
            send(ex, e instanceof IllegalStateException ? 409 : 400, TEXT,
                    "snapshot refused: " + Causes.oneLine(e) + "\n");
            return false;
        }
    }

    /** Answers 401 or 403 unless the request carries the configured bearer token. */
    private boolean authorized(HttpExchange ex) throws IOException {
        switch (auth.check(ex.getRequestHeaders().getFirst("Authorization"))) {
            case ALLOWED -> {
                return true;
            }
            case DISABLED -> send(ex, 403, TEXT, "pause, resume and snapshot are disabled: no ops token is "
                    + "configured; start the runner with DELTAFORGE_OPS_TOKEN, DELTAFORGE_OPS_TOKEN_FILE or "
                    + "--ops-token-file PATH and send 'Authorization: Bearer <token>'\n");
            case MISSING -> {
                ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
                send(ex, 401, TEXT, "this endpoint needs the ops token: send 'Authorization: Bearer <token>'\n");
            }
            case WRONG -> send(ex, 403, TEXT, "the bearer token is not the ops token\n");
        }
        return false;
    }

    private static void tooLarge(HttpExchange ex) throws IOException {
        ex.getResponseHeaders().set("Connection", "close");
        send(ex, 413, TEXT, "the request body is larger than " + MAX_BODY_BYTES + " bytes\n", true);
    }

    static SnapshotRequest snapshotRequest(@Nullable JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new IllegalArgumentException("the body is not a JSON object");
        }
        JsonNode tables = body.get("tables");
        if (tables == null || !tables.isArray() || tables.isEmpty()) {
            throw new IllegalArgumentException("\"tables\" must be a non-empty array of table names");
        }
        List<String> names = new ArrayList<>();
        for (JsonNode t : tables) {
            if (!t.isTextual() || t.asText().isBlank()) {
                throw new IllegalArgumentException("\"tables\" holds " + t + ", not a table name");
            }
            names.add(t.asText());
        }
        JsonNode condition = body.get("condition");
        if (condition != null && !condition.isNull() && !condition.isTextual()) {
            throw new IllegalArgumentException("\"condition\" must be a string such as \"id > 10 AND status = "
                    + "'open'\"");
        }
        Iterator<String> fields = body.fieldNames();
        while (fields.hasNext()) {
            String f = fields.next();
            if (!f.equals("tables") && !f.equals("condition")) {
                throw new IllegalArgumentException("unknown field \"" + f + "\"; use \"tables\" and \"condition\"");
            }
        }
        return new SnapshotRequest(names, condition == null || condition.isNull() ? null : condition.asText());
    }

    private String body(boolean ok, List<PipelineStatus> statuses) throws IOException {
        ObjectNode root = json.createObjectNode();
        root.put("status", ok ? "ok" : "unavailable");
        ArrayNode list = root.putArray("pipelines");
        for (PipelineStatus s : statuses) {
            ObjectNode p = list.addObject();
            p.put("name", s.name());
            p.put("state", s.state().name());
            p.put("checkpoint", s.checkpoint() == null ? null : s.checkpoint().toString());
            p.put("events_received", s.eventsReceived());
            p.put("events_delivered", s.eventsDelivered());
            p.put("failure", s.failure() == null ? null : Causes.oneLine(s.failure()));
            p.put("degraded", s.degraded());
        }
        return json.writeValueAsString(root) + "\n";
    }

    private static void send(HttpExchange ex, int status, String contentType, String body) throws IOException {
        send(ex, status, contentType, body, false);
    }

    /** @param drop close the connection without reading the rest of the request body */
    private static void send(HttpExchange ex, int status, String contentType, String body, boolean drop)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
                if (drop) {
                    // Closing the response stream reads the rest of the body to discard it. With this thread
                    // interrupted, that read closes the channel at once instead (the response is written by
                    // then); DeadlineExecutor clears the flag after the exchange.
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** Stops serving at once (requests in progress get up to a second). */
    @Override
    public void close() {
        server.stop(1);
        executor.close();
    }
}
