package io.deltaforge.examples.jsonl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deltaforge.api.Pipeline;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.deltaforge.yaml.PipelineConfigLoader;
import io.nats.client.Connection;
import io.nats.client.api.StreamConfiguration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The user-written sink, picked from YAML by its type name, receives the same events as the NATS sink. */
@Timeout(120)
class JsonLinesSinkIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aSinkFoundThroughServiceLoaderReceivesEveryEventNextToNats(@TempDir Path tmp) throws Exception {
        Path audit = tmp.resolve("audit.jsonl");
        try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start();
             Connection nc = nats.connect()) {
            pg.execute("""
                    CREATE TABLE users (id serial PRIMARY KEY, name text);
                    CREATE PUBLICATION users_pub FOR TABLE users;
                    """);
            nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("USERS").subjects("users.>").build());
            Map<String, String> env = Map.of("POSTGRES_DSN", pg.dsn(), "NATS_URL", nats.url(),
                    "AUDIT_FILE", audit.toString());
            List<Pipeline> pipelines = PipelineConfigLoader.create().withEnvironment(env::get)
                    .load(Path.of("pipeline.yaml"));
            assertThat(pipelines).hasSize(1);
            Pipeline pipeline = pipelines.get(0);
            pipeline.start();
            try {
                pg.execute("INSERT INTO users (name) VALUES ('Alice'), ('Bob')");
                pg.execute("UPDATE users SET name = 'Bobby' WHERE name = 'Bob'");

                await().atMost(30, TimeUnit.SECONDS).until(() -> lines(audit).size() == 3
                        && nc.jetStreamManagement().getStreamInfo("USERS").getStreamState().getMsgCount() == 3);
            } finally {
                pipeline.stop();
            }
            List<JsonNode> lines = lines(audit);
            assertThat(lines).extracting(l -> l.get("op").asText()).containsExactly("c", "c", "u");
            assertThat(lines.get(2).get("after").get("name").asText()).isEqualTo("Bobby");
            List<String> natsIds = new ArrayList<>();
            for (long seq = 1; seq <= 3; seq++) {
                natsIds.add(nc.jetStreamManagement().getMessage("USERS", seq).getHeaders().getFirst("Nats-Msg-Id"));
            }
            assertThat(lines).extracting(l -> l.get("id").asText()).containsExactlyElementsOf(natsIds);
        }
    }

    private static List<JsonNode> lines(Path file) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file)) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }
}
