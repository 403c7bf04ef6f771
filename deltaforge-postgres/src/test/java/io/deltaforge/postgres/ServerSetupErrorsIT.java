package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.deltaforge.testkit.PostgresServer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Each server-side setup problem fails start() with one message that says what to do. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServerSetupErrorsIT {
    private static PostgresServer pg;

    @BeforeAll
    static void startServer() {
        pg = PostgresServer.start();
        pg.execute("CREATE TABLE public.t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE public.t");
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void userWithoutReplicationAttributeIsToldHowToGrantIt() {
        pg.execute("CREATE ROLE plain LOGIN PASSWORD 'plainpw'");
        String dsn = "postgres://plain:plainpw@" + pg.host() + ":" + pg.port() + "/postgres";
        try (PostgresSource s = PostgresSource.builder().dsn(dsn).slot("plain_slot").publication("pub").build()) {
            assertThatThrownBy(s::start).isInstanceOf(DeltaforgeException.class)
                    .isNotInstanceOf(RetryableException.class)
                    .hasMessageContaining("user 'plain' may not use logical replication")
                    .hasMessageContaining("ALTER ROLE \"plain\" WITH REPLICATION;")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("plainpw"));
        }
    }

    @Test
    void missingDatabaseIsPermanentAndNamed() {
        String dsn = "postgres://postgres:postgres@" + pg.host() + ":" + pg.port() + "/no_such_db";
        try (PostgresSource s = PostgresSource.builder().dsn(dsn).slot("s1").publication("pub").build()) {
            assertThatThrownBy(s::start).isInstanceOf(DeltaforgeException.class)
                    .isNotInstanceOf(RetryableException.class)
                    .hasMessageContaining("no_such_db")
                    .hasMessageContaining("CREATE DATABASE \"no_such_db\";");
        }
    }

    @Test
    void wrongPasswordSaysToCheckTheCredentials() {
        String dsn = "postgres://postgres:Wr0ngPass@" + pg.host() + ":" + pg.port() + "/postgres";
        try (PostgresSource s = PostgresSource.builder().dsn(dsn).slot("s2").publication("pub").build()) {
            assertThatThrownBy(s::start).isInstanceOf(DeltaforgeException.class)
                    .isNotInstanceOf(RetryableException.class)
                    .hasMessageContaining("check the user name and password in dsn")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("Wr0ngPass"));
        }
    }

    @Test
    void unreachableHostIsRetryableAndSaysWhatToCheck() throws Exception {
        int port;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        try (PostgresSource s = PostgresSource.builder().dsn("postgres://u:p@127.0.0.1:" + port + "/db").slot("s3")
                .publication("pub").build()) {
            assertThatThrownBy(s::start).isInstanceOf(RetryableException.class)
                    .hasMessageContaining("check host and port in dsn");
        }
    }

    @Test
    void fullSlotTableNamesTheLimitAndTheInactiveSlots() {
        int max = Integer.parseInt(pg.queryString("SHOW max_replication_slots"));
        int used = Integer.parseInt(pg.queryString("SELECT count(*) FROM pg_replication_slots"));
        StringBuilder sql = new StringBuilder();
        for (int i = used; i < max; i++) {
            sql.append("SELECT pg_create_physical_replication_slot('filler_").append(i).append("');");
        }
        pg.execute(sql.toString());
        try (PostgresSource s = PostgresSource.builder().dsn(pg.dsn()).slot("one_too_many").publication("pub")
                .build()) {
            assertThatThrownBy(s::start).isInstanceOf(DeltaforgeException.class)
                    .isNotInstanceOf(RetryableException.class)
                    .hasMessageContaining("all replication slots are in use (max_replication_slots = " + max)
                    .hasMessageContaining("filler_")
                    .hasMessageContaining("pg_drop_replication_slot");
        } finally {
            pg.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                    + "WHERE slot_name LIKE 'filler\\_%'");
        }
    }

    @Test
    void tablesWithoutKeyOrIdentityAreWarnedAboutAtStart() throws Exception {
        pg.execute("CREATE TABLE public.nokey (v text); CREATE TABLE public.nothing (id int PRIMARY KEY);"
                + "ALTER TABLE public.nothing REPLICA IDENTITY NOTHING; CREATE TABLE public.fullid (v text);"
                + "ALTER TABLE public.fullid REPLICA IDENTITY FULL");
        try (java.sql.Connection c = pg.connect()) {
            PostgresSource s = PostgresSource.builder().dsn(pg.dsn()).slot("w").publication("pub").build();
            java.util.List<String> warnings = io.deltaforge.postgres.internal.ServerChecksAccess.identityWarnings(
                    s.settings(), c, java.util.List.of(io.deltaforge.api.TableId.parse("public.nokey"),
                            io.deltaforge.api.TableId.parse("public.nothing"), io.deltaforge.api.TableId.parse("public.fullid"),
                            io.deltaforge.api.TableId.parse("public.t")));
            assertThat(warnings).hasSize(2);
            assertThat(warnings.get(0)).contains("public.nokey has no primary key or replica identity index")
                    .contains("ALTER TABLE \"public\".\"nokey\" REPLICA IDENTITY FULL;");
            assertThat(warnings.get(1)).contains("public.nothing has REPLICA IDENTITY NOTHING");
        }
    }
}
