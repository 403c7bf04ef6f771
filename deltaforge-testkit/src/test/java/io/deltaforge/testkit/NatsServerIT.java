package io.deltaforge.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nats.client.AuthenticationException;
import io.nats.client.Connection;
import io.nats.client.ErrorListener;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.NatsMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
@SuppressWarnings("try") // jnats Connection.close() declares InterruptedException; tests just propagate it
class NatsServerIT {

    @Test
    void startsWithJetStreamOnLoopback() throws Exception {
        try (NatsServer nats = NatsServer.start(); Connection c = nats.connect()) {
            assertThat(nats.url()).isEqualTo("nats://127.0.0.1:" + nats.port());
            assertThat(nats.monitorPort()).isNotEqualTo(nats.port());
            JetStreamManagement jsm = c.jetStreamManagement();
            jsm.addStream(fileStream("USERS", "users.events"));
            PublishAck ack = c.jetStream().publish(NatsMessage.builder()
                    .subject("users.events").data("hello", StandardCharsets.UTF_8).build());
            assertThat(ack.getStream()).isEqualTo("USERS");
            assertThat(ack.getSeqno()).isEqualTo(1);
        }
    }

    @Test
    void stopAndStartAgainKeepsFileBackedStream() throws Exception {
        try (NatsServer nats = NatsServer.start()) {
            int port = nats.port();
            publishThree(nats);
            nats.stop();
            assertThat(nats.isRunning()).isFalse();
            assertThat(Ports.accepts("127.0.0.1", port)).isFalse();
            nats.startAgain();
            assertThat(nats.port()).isEqualTo(port);
            try (Connection c = nats.connect()) {
                assertThat(c.jetStreamManagement().getStreamInfo("KEEP").getStreamState().getMsgCount())
                        .isEqualTo(3);
            }
        }
    }

    @Test
    void killAndStartAgainRecoversFileBackedStream() throws Exception {
        try (NatsServer nats = NatsServer.start()) {
            publishThree(nats);
            nats.kill();
            assertThat(nats.isRunning()).isFalse();
            nats.startAgain();
            try (Connection c = nats.connect()) {
                JetStreamManagement jsm = c.jetStreamManagement();
                assertThat(jsm.getStreamInfo("KEEP").getStreamState().getMsgCount()).isEqualTo(3);
                // duplicate detection state must survive too: republishing a known id is flagged duplicate
                PublishAck again = c.jetStream().publish(NatsMessage.builder()
                        .subject("keep.x").data("m1", StandardCharsets.UTF_8).build(),
                        io.nats.client.PublishOptions.builder().messageId("id-1").build());
                assertThat(again.isDuplicate()).isTrue();
            }
        }
    }

    @Test
    void startWithConfigAppliesExtraConfiguration() throws Exception {
        try (NatsServer nats = NatsServer.startWithConfig(
                "authorization {\n  user: alice\n  password: s3cret\n}\n")) {
            Options anonymous = new Options.Builder().server(nats.url()).connectionTimeout(Duration.ofSeconds(2))
                    .maxReconnects(0).errorListener(new ErrorListener() {}).build();
            assertThatThrownBy(() -> Nats.connect(anonymous).close()).isInstanceOf(AuthenticationException.class)
                    .hasMessageContaining("Authorization Violation");
            Options withPassword = new Options.Builder().server(nats.url()).userInfo("alice", "s3cret")
                    .connectionTimeout(Duration.ofSeconds(5)).build();
            try (Connection c = Nats.connect(withPassword)) {
                c.jetStreamManagement().addStream(fileStream("SECURE", "secure.>"));
                assertThat(c.jetStream().publish("secure.a", new byte[] {1}).getSeqno()).isEqualTo(1);
            }
        }
    }

    @Test
    void closeStopsServerAndDeletesStore() {
        NatsServer nats = NatsServer.start();
        Path store = nats.storeDir();
        int port = nats.port();
        nats.close();
        nats.close();
        assertThat(Files.exists(store)).isFalse();
        assertThat(Ports.accepts("127.0.0.1", port)).isFalse();
    }

    private static void publishThree(NatsServer nats) throws Exception {
        try (Connection c = nats.connect()) {
            c.jetStreamManagement().addStream(fileStream("KEEP", "keep.>"));
            JetStream js = c.jetStream();
            for (int i = 1; i <= 3; i++) {
                js.publish(NatsMessage.builder().subject("keep.x").data("m" + i, StandardCharsets.UTF_8).build(),
                        io.nats.client.PublishOptions.builder().messageId("id-" + i).build());
            }
        }
    }

    private static StreamConfiguration fileStream(String name, String subject) {
        return StreamConfiguration.builder().name(name).subjects(subject).storageType(StorageType.File).build();
    }
}
