package io.deltaforge.examples.springboot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.api.StreamConfiguration;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The example application against real PostgreSQL and nats-server: the context starts the pipeline, rows
 * arrive in JetStream, health and the Actuator endpoint answer over HTTP, and closing the context drains
 * the pipeline and acknowledges the slot.
 */
// Declared before @SpringBootTest, so that its afterAll runs after Spring's, which closes the context.
@ExtendWith(UsersApplicationIT.AfterTheContextCloses.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
@Timeout(60)
class UsersApplicationIT {
    private static PostgresServer pg;
    private static NatsServer nats;
    private static Connection nc;
    private static String beforeInserts;

    @LocalServerPort
    private int port;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void servers() throws Exception {
        pg = PostgresServer.start();
        nats = NatsServer.start();
        nc = nats.connect();
        pg.execute("""
                CREATE TABLE users (id serial PRIMARY KEY, name text, email text);
                CREATE PUBLICATION users_pub FOR TABLE users;
                """);
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("USERS").subjects("users.>").build());
    }

    @DynamicPropertySource
    static void serverAddresses(DynamicPropertyRegistry registry) {
        registry.add("POSTGRES_DSN", pg::dsn);
        registry.add("NATS_URL", nats::url);
    }

    /** Checks that closing the context stopped the pipeline gracefully, then stops the servers. */
    static final class AfterTheContextCloses implements AfterAllCallback {
        @Override
        public void afterAll(ExtensionContext extension) throws Exception {
            try (PostgresServer p = pg; NatsServer n = nats; Connection c = nc) {
                // The graceful stop acknowledged both inserts' commits and let go of the slot.
                assertThat(p.queryString("SELECT confirmed_flush_lsn > '" + beforeInserts + "'::pg_lsn AND NOT active "
                        + "FROM pg_replication_slots WHERE slot_name = 'deltaforge_boot_users'")).isEqualTo("t");
            }
        }
    }

    @Test
    void theApplicationStreamsUsersAndIsControlledThroughActuator() throws Exception {
        await().atMost(Duration.ofSeconds(20)).until(() -> get("/actuator/deltaforge/users").contains("\"RUNNING\""));
        beforeInserts = pg.queryString("SELECT pg_current_wal_lsn()");
        pg.execute("INSERT INTO users (name, email) VALUES ('Alice', 'alice@example.com')");
        awaitMessages(1);
        assertThat(body(1)).contains("\"type\":\"com.acme.users.created\"").contains("\"name\":\"Alice\"");

        String health = get("/actuator/health");
        assertThat(health).contains("\"status\":\"UP\"").contains("\"deltaforge\"").contains("\"users\"");
        assertThat(get("/actuator/deltaforge")).contains("\"users\"").contains("\"eventsDelivered\":1");

        assertThat(post("/actuator/deltaforge/users/pause", "{}").body()).contains("\"state\":\"PAUSED\"");
        pg.execute("INSERT INTO users (name, email) VALUES ('Bob', 'bob@example.com')");
        assertThat(post("/actuator/deltaforge/users/resume", "{}").body()).contains("\"state\":\"RUNNING\"");
        awaitMessages(2);
        assertThat(body(2)).contains("\"name\":\"Bob\"");
        assertThat(post("/actuator/deltaforge/users/restart", "{}").statusCode()).isEqualTo(400);
    }

    private static void awaitMessages(long count) {
        await().atMost(Duration.ofSeconds(20)).until(() ->
                nc.jetStreamManagement().getStreamInfo("USERS").getStreamState().getMsgCount() == count);
    }

    private static String body(long sequence) throws IOException, JetStreamApiException {
        return new String(nc.jetStreamManagement().getMessage("USERS", sequence).getData(), StandardCharsets.UTF_8);
    }

    private String get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    private HttpResponse<String> post(String path, String json) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }
}
