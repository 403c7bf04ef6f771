package io.deltaforge.runner.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.deltaforge.api.Lsn;
import io.deltaforge.runner.testsupport.RunnerProcess;
import io.deltaforge.runner.testsupport.StreamContents;
import io.deltaforge.runner.testsupport.RealServers;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed's YAML, verbatim, run by the runner jar against real PostgreSQL and nats-server: what the
 * product document promises a user sees.
 */
@Timeout(180)
class SeedPipelineIT extends RealServers {
    static final Path SEED = Path.of("..", "examples", "postgres-nats.yaml").toAbsolutePath().normalize();


    @BeforeAll
    static void seedTablesAndStream() throws Exception {
        pg.execute("""
                CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, email text,
                                    created_at timestamptz NOT NULL DEFAULT now());
                CREATE TABLE profiles (user_id int PRIMARY KEY REFERENCES users(id), bio text);
                CREATE TABLE user_sessions (id bigserial PRIMARY KEY, user_id int NOT NULL,
                                            started_at timestamptz DEFAULT now());
                CREATE PUBLICATION users_pub FOR TABLE users, profiles, user_sessions;
                """);
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("USERS").subjects("users.>")
                .storageType(StorageType.File).build());
    }

    private Map<String, String> env() {
        return Map.of("POSTGRES_DSN", pg.dsn(), "NATS_URL", nats.url());
    }

    /** The stream once it holds {@code count} entries; fails after 30 s with what it holds. */
    private List<StreamContents.Entry> awaitStream(int count) {
        return await("stream USERS holds " + count + " entries").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> StreamContents.read(nc, "USERS"), entries -> entries.size() >= count);
    }

    @Test
    void seedYamlStreamsInsertsUpdatesAndDeletesAsCloudEventsAndResumesWithoutGapAfterRestart(@TempDir Path tmp)
            throws Exception {
        Path log = tmp.resolve("runner.log");
        try (RunnerProcess runner = RunnerProcess.start(SEED, env(), log)) {
            assertThat(runner.awaitLog("streaming", Duration.ofSeconds(60))).as(runner.log()).isTrue();

            pg.execute("INSERT INTO users (name, email, created_at) VALUES ('Alice', 'alice@example.com', NOW())");
            pg.execute("UPDATE users SET email = 'alice.new@example.com' WHERE name = 'Alice'");
            // One transaction over three tables: its events must arrive together and in commit order.
            pg.execute("""
                    BEGIN;
                    INSERT INTO users (name, email) VALUES ('Bob', 'bob@example.com');
                    INSERT INTO profiles (user_id, bio) SELECT id, 'hi' FROM users WHERE name = 'Bob';
                    INSERT INTO user_sessions (user_id) SELECT id FROM users WHERE name = 'Bob';
                    COMMIT;
                    """);
            pg.execute("DELETE FROM user_sessions");

            List<StreamContents.Entry> entries = awaitStream(6);
            assertThat(entries).hasSize(6);

            StreamContents.Entry insert = entries.get(0);
            assertThat(insert.subject()).isEqualTo("users.events");
            assertThat(insert.event().getSpecVersion().toString()).isEqualTo("1.0");
            assertThat(insert.event().getType()).isEqualTo("com.acme.users.created");
            assertThat(insert.event().getSource().toString()).isEqualTo("deltaforge/users-postgres/public.users");
            assertThat(insert.event().getSubject()).isEqualTo("public.users");
            assertThat(insert.event().getDataContentType()).isEqualTo("application/json");
            assertThat(insert.json().get("time").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3,6}Z");
            assertThat(insert.data().get("op").asText()).isEqualTo("c");
            assertThat(insert.data().get("before").isNull()).isTrue();
            assertThat(insert.data().get("after").get("id").asInt()).isEqualTo(1);
            assertThat(insert.data().get("after").get("name").asText()).isEqualTo("Alice");
            assertThat(insert.data().get("after").get("email").asText()).isEqualTo("alice@example.com");
            assertThat(insert.data().get("after").get("created_at").asText())
                    .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3,6}Z");

            StreamContents.Entry update = entries.get(1);
            assertThat(update.event().getType()).isEqualTo("com.acme.users.updated");
            assertThat(update.data().get("after").get("email").asText()).isEqualTo("alice.new@example.com");

            assertThat(entries.subList(2, 5)).extracting(e -> e.event().getSubject())
                    .containsExactly("public.users", "public.profiles", "public.user_sessions");
            assertThat(entries.get(5).event().getType()).isEqualTo("com.acme.users.deleted");
            assertThat(entries.get(5).data().get("after").isNull()).isTrue();
            assertThat(entries.get(5).data().get("before").get("id").asInt()).isEqualTo(1);

            for (StreamContents.Entry e : entries) {
                assertThat(e.msgId()).isEqualTo(e.event().getId());
            }
            assertThat(entries.stream().map(StreamContents.Entry::msgId).collect(Collectors.toSet())).hasSize(6);

            assertThat(runner.terminate(Duration.ofSeconds(30))).as(runner.log()).isZero();
        }

        // While the pipeline is down, the database moves on; the slot keeps what it missed.
        pg.execute("INSERT INTO users (name) VALUES ('Carol')");
        pg.execute("INSERT INTO users (name) VALUES ('Dave')");

        try (RunnerProcess runner = RunnerProcess.start(SEED, env(), tmp.resolve("runner2.log"))) {
            assertThat(runner.awaitLog("streaming", Duration.ofSeconds(60))).as(runner.log()).isTrue();
            pg.execute("INSERT INTO users (name) VALUES ('Eve')");
            awaitStream(9);
            // A replay of what the first run delivered would arrive right behind the new events.
            List<StreamContents.Entry> entries = await("no replayed duplicates follow").atMost(Duration.ofSeconds(5))
                    .during(Duration.ofSeconds(1)).until(() -> StreamContents.read(nc, "USERS"), e -> e.size() == 9);
            assertThat(entries.subList(6, 9)).extracting(e -> e.data().get("after").get("name").asText())
                    .containsExactly("Carol", "Dave", "Eve");
            Set<String> ids = new HashSet<>();
            entries.forEach(e -> assertThat(ids.add(e.msgId())).isTrue());
            assertThat(runner.terminate(Duration.ofSeconds(30))).isZero();
        }

        Lsn beforeFrank;
        // The same modules on the module path: their descriptors must make every provider findable.
        try (RunnerProcess runner = RunnerProcess.startOnModulePath(SEED, env(), tmp.resolve("runner3.log"))) {
            assertThat(runner.awaitLog("streaming", Duration.ofSeconds(60))).as(runner.log()).isTrue();
            beforeFrank = Lsn.parse(pg.queryString("SELECT pg_current_wal_insert_lsn()"));
            pg.execute("INSERT INTO users (name) VALUES ('Frank')");
            List<StreamContents.Entry> entries = awaitStream(10);
            assertThat(entries).as(runner.log()).hasSize(10);
            assertThat(entries.get(9).data().get("after").get("name").asText()).isEqualTo("Frank");
            assertThat(runner.terminate(Duration.ofSeconds(30))).as(runner.log()).isZero();
            assertThat(runner.log()).doesNotContain("Exception");
        }
        // The graceful stop acknowledged the last delivered transaction before closing the slot's connection.
        Lsn confirmed = Lsn.parse(pg.queryString(
                "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'deltaforge_users'"));
        Lsn current = Lsn.parse(pg.queryString("SELECT pg_current_wal_insert_lsn()"));
        assertThat(confirmed).as("the slot moved past Frank's transaction").isGreaterThan(beforeFrank)
                .isLessThanOrEqualTo(current);
        assertThat(Files.exists(log)).isTrue();
    }
}
