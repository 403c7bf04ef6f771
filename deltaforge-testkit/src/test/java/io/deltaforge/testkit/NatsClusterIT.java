package io.deltaforge.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.api.ClusterInfo;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 300, unit = TimeUnit.SECONDS)
@SuppressWarnings("try") // jnats Connection.close() declares InterruptedException; tests just propagate it
class NatsClusterIT {

    @Test
    void threeNodesServeAReplicatedStreamThatSurvivesTheLossAndReturnOfItsLeader() throws Exception {
        try (NatsCluster cluster = NatsCluster.start(); Connection c = cluster.connect()) {
            List<NatsServer> nodes = cluster.nodes();
            assertThat(nodes).hasSize(3);
            Set<Integer> ports = new HashSet<>();
            nodes.forEach(n -> ports.add(n.port()));
            assertThat(ports).hasSize(3);
            assertThat(cluster.url()).isEqualTo(String.join(",", cluster.urls()));
            assertThat(nodes.stream().map(NatsServer::storeDir).distinct()).hasSize(3);

            c.jetStreamManagement().addStream(StreamConfiguration.builder().name("R3").subjects("r3.>")
                    .storageType(StorageType.File).replicas(3).build());
            JetStream js = c.jetStream();
            js.publish("r3.a", "one".getBytes(StandardCharsets.UTF_8));

            NatsServer leader = cluster.streamLeader("R3");
            ClusterInfo info = c.jetStreamManagement().getStreamInfo("R3").getClusterInfo();
            assertThat(info.getLeader()).isEqualTo(cluster.name(leader));
            assertThat(info.getReplicas()).hasSize(2);

            leader.kill();
            assertThat(leader.isRunning()).isFalse();
            NatsServer next = cluster.awaitStreamLeader("R3", Duration.ofSeconds(60));
            assertThat(next).isNotSameAs(leader);
            js.publish("r3.a", "two".getBytes(StandardCharsets.UTF_8));

            leader.startAgain();
            cluster.awaitHealthy(Duration.ofSeconds(60));
            // The restarted node is a current replica again, and the stream kept both messages.
            Awaitility.await("the restarted node is a current replica").atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                        StreamInfo after = c.jetStreamManagement().getStreamInfo("R3");
                        assertThat(after.getStreamState().getMsgCount()).isEqualTo(2);
                        assertThat(after.getClusterInfo().getReplicas()).anySatisfy(r -> {
                            assertThat(r.getName()).isEqualTo(cluster.name(leader));
                            assertThat(r.isCurrent()).isTrue();
                        });
                    });
        }
    }
}
