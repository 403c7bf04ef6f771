package io.deltaforge.nats;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.RetryableException;
import io.deltaforge.spi.Batch;
import io.deltaforge.testkit.NatsCluster;
import io.deltaforge.testkit.NatsServer;
import io.nats.client.Connection;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.net.URI;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The sink given every node of a JetStream cluster keeps publishing when the node it is connected to dies. */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
@SuppressWarnings("try") // jnats Connection.close() declares InterruptedException; tests just propagate it
class NatsSinkClusterIT {
    @Test
    void losingTheConnectedNodeMovesTheSinkToAnotherNodeOfTheList() throws Exception {
        try (NatsCluster cluster = NatsCluster.start(); Connection admin = cluster.connect()) {
            admin.jetStreamManagement().addStream(StreamConfiguration.builder().name("USERS").subjects("users.>")
                    .storageType(StorageType.File).replicas(3).duplicateWindow(Duration.ofMinutes(5)).build());
            NatsSink sink = NatsSink.builder().id("users-nats").url(cluster.url()).subject("users.events")
                    .stream("USERS").sendTimeout(Duration.ofSeconds(2)).batchTimeout(Duration.ofSeconds(4)).build();
            try {
                sink.start();
                Batches batches = new Batches();
                sink.send(batches.batch(3)).toCompletableFuture().get(60, TimeUnit.SECONDS);

                NatsServer connected = nodeServing(cluster, "deltaforge-users-nats");
                connected.kill();
                Batch batch = batches.batch(10);
                Awaitility.await("the batch is delivered through another node").atMost(Duration.ofSeconds(90))
                        .pollInterval(Duration.ofMillis(250)).until(() -> delivered(sink, batch));

                assertThat(nodeServing(cluster, "deltaforge-users-nats")).isNotSameAs(connected);
                assertThat(admin.jetStreamManagement().getStreamInfo("USERS").getStreamState().getMsgCount())
                        .isEqualTo(13);
            } finally {
                sink.close();
            }
        }
    }

    /** The engine's part: send the batch again until it is delivered; false on a retryable failure. */
    private static boolean delivered(NatsSink sink, Batch batch) throws Exception {
        try {
            sink.send(batch).toCompletableFuture().get(60, TimeUnit.SECONDS);
            return true;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RetryableException) {
                return false;
            }
            throw e;
        }
    }

    /** The running node that has a client connection named {@code name}, from its monitoring port. */
    private static NatsServer nodeServing(NatsCluster cluster, String name) throws Exception {
        List<NatsServer> serving = cluster.nodes().stream().filter(NatsServer::isRunning)
                .filter(n -> connz(n).replace(" ", "").contains("\"name\":\"" + name + "\""))
                .toList();
        assertThat(serving).as("nodes with connection %s", name).hasSize(1);
        return serving.get(0);
    }

    private static String connz(NatsServer node) {
        try (InputStream in = URI.create("http://127.0.0.1:" + node.monitorPort() + "/connz").toURL().openStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (Exception e) {
            throw new AssertionError("cannot read /connz of " + node, e);
        }
    }
}
