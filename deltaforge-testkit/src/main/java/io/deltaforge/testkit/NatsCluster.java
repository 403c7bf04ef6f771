package io.deltaforge.testkit;

import io.deltaforge.api.DeltaforgeException;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.ClusterInfo;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * A throwaway JetStream cluster for integration tests: several {@link NatsServer}s on 127.0.0.1 (three by
 * default), joined by cluster routes, each with JetStream, its own store directory and free client, route
 * and monitoring ports. Any node can be stopped, killed (SIGKILL) and started again on the same ports and
 * store, so tests can check what survives the loss of a stream's leader.
 *
 * <pre>{@code
 * try (NatsCluster cluster = NatsCluster.start()) {
 *     String urls = cluster.url();                  // nats://127.0.0.1:P1,nats://127.0.0.1:P2,...
 *     // create a stream with replicas(3), point a NatsSink at urls, then:
 *     NatsServer leader = cluster.streamLeader("ORDERS");
 *     leader.kill();                                // SIGKILL; the others elect a new leader
 *     cluster.awaitStreamLeader("ORDERS", Duration.ofSeconds(30));
 *     leader.startAgain();                          // same ports and store; it catches up
 *     cluster.awaitHealthy(Duration.ofSeconds(30));
 * }
 * }</pre>
 *
 * <p>The binary is found as for {@link NatsServer}. Thread safety: as {@link NatsServer}; {@link #close()}
 * closes every node.
 */
public final class NatsCluster implements AutoCloseable {
    private static final String CLUSTER_NAME = "deltaforge-test";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final List<NatsServer> nodes;
    private final List<String> names;

    private NatsCluster(List<NatsServer> nodes, List<String> names) {
        this.nodes = List.copyOf(nodes);
        this.names = List.copyOf(names);
    }

    /**
     * Starts a three-node cluster and waits until JetStream has a meta leader and every node is healthy, so
     * a stream with three replicas can be created at once.
     *
     * @throws DeltaforgeException when nats-server is missing or a node does not start (with its log's tail)
     */
    public static NatsCluster start() {
        return start(3);
    }

    /**
     * Starts a cluster of {@code size} nodes (at least 2), named {@code n1}, {@code n2}, ..., and waits as
     * {@link #start()} does.
     */
    public static NatsCluster start(int size) {
        if (size < 2) {
            throw new IllegalArgumentException("a cluster needs at least 2 nodes, not " + size);
        }
        List<Integer> routePorts = new ArrayList<>();
        while (routePorts.size() < size) {
            int port = Ports.freePort();
            if (!routePorts.contains(port)) {
                routePorts.add(port);
            }
        }
        List<NatsServer> nodes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        try {
            for (int i = 0; i < size; i++) {
                names.add("n" + (i + 1));
                nodes.add(NatsServer.startWithConfig(config(names.get(i), i, routePorts)));
            }
            NatsCluster cluster = new NatsCluster(nodes, names);
            cluster.awaitHealthy(START_TIMEOUT);
            return cluster;
        } catch (RuntimeException e) {
            nodes.forEach(NatsServer::close);
            throw e;
        }
    }

    /** Node {@code i}'s configuration: its name, its route port, and routes to every other node. */
    private static String config(String name, int i, List<Integer> routePorts) {
        String routes = routePorts.stream().filter(p -> !p.equals(routePorts.get(i)))
                .map(p -> "nats-route://127.0.0.1:" + p).collect(Collectors.joining(", "));
        return "server_name: " + name + "\n"
                + "cluster {\n"
                + "  name: " + CLUSTER_NAME + "\n"
                + "  listen: 127.0.0.1:" + routePorts.get(i) + "\n"
                + "  routes: [" + routes + "]\n"
                + "}\n";
    }

    /** The nodes, in name order ({@code n1} first). */
    public List<NatsServer> nodes() {
        return nodes;
    }

    /** Node {@code index} (0-based). */
    public NatsServer node(int index) {
        return nodes.get(index);
    }

    /** The server name of {@code node} ({@code n1}, ...), as JetStream reports leaders and replicas. */
    public String name(NatsServer node) {
        int i = nodes.indexOf(node);
        if (i < 0) {
            throw new IllegalArgumentException(node + " is not a node of this cluster");
        }
        return names.get(i);
    }

    /** Every node's URL, in node order; they stay the same across restarts. */
    public List<String> urls() {
        return nodes.stream().map(NatsServer::url).toList();
    }

    /** Every node's URL separated by commas: what a client (or a NatsSink's {@code url}) takes. */
    public String url() {
        return String.join(",", urls());
    }

    /**
     * Opens a connection that knows every node and reconnects (to any running node) without limit; the
     * caller closes it.
     */
    public Connection connect() throws IOException, InterruptedException {
        return Nats.connect(new Options.Builder().servers(urls().toArray(String[]::new))
                .connectionTimeout(Duration.ofSeconds(5)).maxReconnects(-1).reconnectWait(Duration.ofMillis(250))
                .build());
    }

    /**
     * The node that leads {@code stream} now, asked of JetStream ({@code $JS.API.STREAM.INFO}).
     *
     * @throws DeltaforgeException when the stream has no leader at the moment (an election is under way) or
     *     cannot be asked about
     */
    public NatsServer streamLeader(String stream) {
        NatsServer leader = leaderOrNull(stream);
        if (leader == null) {
            throw new DeltaforgeException("stream " + stream + " has no leader right now; use awaitStreamLeader");
        }
        return leader;
    }

    /** Waits until {@code stream} has a leader on a running node (after an election) and returns it. */
    public NatsServer awaitStreamLeader(String stream, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            NatsServer leader = leaderOrNull(stream);
            if (leader != null && leader.isRunning()) {
                return leader;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new DeltaforgeException("stream " + stream + " has no leader after " + timeout.toSeconds()
                        + " s");
            }
            Procs.sleep(100);
        }
    }

    /**
     * Waits until every running node answers its health check ({@code /healthz}: JetStream enabled and
     * current with the cluster, its streams caught up) and JetStream answers API requests.
     *
     * @throws DeltaforgeException on timeout, naming the nodes that are not healthy
     */
    public void awaitHealthy(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<String> unhealthy = new ArrayList<>();
            for (int i = 0; i < nodes.size(); i++) {
                NatsServer node = nodes.get(i);
                if (node.isRunning() && !healthy(node)) {
                    unhealthy.add(names.get(i));
                }
            }
            String apiProblem = unhealthy.isEmpty() ? jetStreamProblem() : null;
            if (unhealthy.isEmpty() && apiProblem == null) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new DeltaforgeException("NATS cluster not healthy after " + timeout.toSeconds() + " s: "
                        + (unhealthy.isEmpty() ? apiProblem : "nodes " + unhealthy + " fail /healthz")
                        + "\n" + nodes.stream().map(n -> name(n) + ":\n" + Procs.tail(n.logFile(), 15))
                        .collect(Collectors.joining("\n")));
            }
            Procs.sleep(200);
        }
    }

    /** Closes every node (stops it and deletes its directory). Idempotent. */
    @Override
    public void close() {
        nodes.forEach(NatsServer::close);
    }

    @Override
    public String toString() {
        return "NatsCluster" + nodes;
    }

    @SuppressWarnings("try") // Connection.close() may throw InterruptedException, handled below
    private @Nullable NatsServer leaderOrNull(String stream) {
        String leader;
        try (Connection c = probeConnection()) {
            ClusterInfo info = c.jetStreamManagement().getStreamInfo(stream).getClusterInfo();
            leader = info == null ? null : info.getLeader();
        } catch (IOException | JetStreamApiException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DeltaforgeException("interrupted while asking for the leader of stream " + stream, e);
        }
        int i = leader == null ? -1 : names.indexOf(leader);
        return i < 0 ? null : nodes.get(i);
    }

    /** A short-lived connection to any running node, for one question; no reconnects. */
    private Connection probeConnection() throws IOException, InterruptedException {
        return Nats.connect(new Options.Builder().servers(urls().toArray(String[]::new))
                .connectionTimeout(Duration.ofSeconds(2)).maxReconnects(0).build());
    }

    private static boolean healthy(NatsServer node) {
        try {
            HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + node.monitorPort() + "/healthz"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DeltaforgeException("interrupted while checking the NATS cluster's health", e);
        }
    }

    @SuppressWarnings("try") // as above
    private @Nullable String jetStreamProblem() {
        try (Connection c = probeConnection()) {
            c.jetStreamManagement().getAccountStatistics();
            return null;
        } catch (IOException | JetStreamApiException e) {
            return "JetStream API: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DeltaforgeException("interrupted while checking the NATS cluster's JetStream", e);
        }
    }
}
