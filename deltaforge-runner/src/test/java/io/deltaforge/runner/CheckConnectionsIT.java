package io.deltaforge.runner;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code validate --check-connections} against real servers: it finds what start() would, and changes nothing. */
@Timeout(120)
class CheckConnectionsIT {
    private static PostgresServer pg;
    private static NatsServer nats;

    private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    @TempDir
    Path dir;

    @BeforeAll
    static void servers() throws Exception {
        pg = PostgresServer.start();
        nats = NatsServer.start();
        pg.execute("""
                CREATE TABLE public.accounts (id int PRIMARY KEY, name text);
                CREATE PUBLICATION accounts_pub FOR TABLE public.accounts;
                """);
        try (Connection nc = nats.connect()) {
            nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("ACCOUNTS")
                    .subjects("accounts.>").storageType(StorageType.File).build());
        }
    }

    @AfterAll
    static void stopServers() {
        if (nats != null) {
            nats.close();
        }
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void aUsableSetupIsReportedWithWhatTheFirstStartWouldCreateAndNothingIsCreated() throws Exception {
        int code = validate("""
                      publication: accounts_pub
                      slot: check_ok
                """, "ACCOUNTS", "accounts.events");

        assertThat(code).as(err()).isZero();
        assertThat(out()).contains("ok: pipeline 'accounts': source 'pg' reachable and usable",
                "note: replication slot 'check_ok' does not exist yet; the first start creates it",
                "ok: pipeline 'accounts': sink 'nats' reachable and usable");
        assertThat(pg.queryString("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'check_ok'"))
                .isEqualTo("0");
    }

    @Test
    void autocreateIsProvedInATransactionThatIsRolledBack() throws Exception {
        int code = validate("""
                      publication: auto_pub
                      publication_mode: autocreate
                      tables: [public.accounts]
                      slot: check_auto
                """, "ACCOUNTS", "accounts.events");

        assertThat(code).as(err()).isZero();
        assertThat(out()).contains("note: publication_mode autocreate: the first start runs CREATE PUBLICATION "
                + "\"auto_pub\" FOR TABLE \"public\".\"accounts\"");
        assertThat(pg.queryString("SELECT count(*) FROM pg_publication WHERE pubname = 'auto_pub'")).isEqualTo("0");
    }

    @Test
    void everyBrokenComponentIsNamedWithItsFixAndTheExitCodeIsOne() throws Exception {
        int code = validate("""
                      publication: missing_pub
                      slot: check_bad
                """, "NO_SUCH_STREAM", "accounts.events");

        assertThat(code).isEqualTo(1);
        assertThat(err()).contains("error: pipeline 'accounts': source 'pg': ",
                "publication 'missing_pub' does not exist", "CREATE PUBLICATION");
        assertThat(err()).contains("error: pipeline 'accounts': sink 'nats': ",
                "stream 'NO_SUCH_STREAM' does not exist", "nats stream add NO_SUCH_STREAM");
        assertThat(err()).contains("error: 2 connection check(s) failed");
    }

    @Test
    void aSubjectTheStreamDoesNotCaptureFailsTheSinkCheck() throws Exception {
        int code = validate("""
                      publication: accounts_pub
                      slot: check_subject
                """, "ACCOUNTS", "orders.events");

        assertThat(code).isEqualTo(1);
        assertThat(out()).contains("ok: pipeline 'accounts': source 'pg'");
        assertThat(err()).contains("sink 'nats'", "does not capture subject 'orders.events'");
    }

    @Test
    void wrongCredentialsAreReportedAsSuch() throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("POSTGRES_DSN", pg.dsn().replace(":" + pg.password() + "@", ":wrong@"));
        int code = validate("""
                      publication: accounts_pub
                      slot: check_auth
                """, "ACCOUNTS", "accounts.events", env);

        assertThat(code).isEqualTo(1);
        assertThat(err()).contains("source 'pg'", "check the user name and password in dsn")
                .doesNotContain(":wrong@");
    }

    private int validate(String sourceLines, String stream, String subject) throws Exception {
        return validate(sourceLines, stream, subject, new HashMap<>());
    }

    private int validate(String sourceLines, String stream, String subject, Map<String, String> env)
            throws Exception {
        env.putIfAbsent("POSTGRES_DSN", pg.dsn());
        env.put("NATS_URL", nats.url());
        Path file = dir.resolve("p.yaml");
        Files.writeString(file, """
                apiVersion: deltaforge/v1
                kind: Pipeline
                metadata:
                  name: accounts
                spec:
                  source:
                    type: postgres
                    config:
                      id: pg
                      dsn: ${POSTGRES_DSN}
                """ + sourceLines + """
                  sinks:
                    - type: nats
                      config:
                        id: nats
                        url: ${NATS_URL}
                        stream: %s
                        subject: %s
                        envelope:
                          type: cloudevents
                          type_prefix: com.acme.accounts
                """.formatted(stream, subject));
        return Runner.execute(new String[] {"validate", "--config", file.toString(), "--check-connections"},
                new PrintStream(outBytes, true, StandardCharsets.UTF_8),
                new PrintStream(errBytes, true, StandardCharsets.UTF_8), env::get);
    }

    private String out() {
        return outBytes.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return errBytes.toString(StandardCharsets.UTF_8);
    }
}
