package io.deltaforge.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PostgresServerIT {

    @Test
    void startsWithLogicalWalLevelAndPasswordLogin() throws Exception {
        try (PostgresServer pg = PostgresServer.start()) {
            assertThat(pg.jdbcUrl()).isEqualTo("jdbc:postgresql://127.0.0.1:" + pg.port() + "/postgres");
            assertThat(pg.dsn()).isEqualTo("postgres://postgres:postgres@127.0.0.1:" + pg.port() + "/postgres");
            assertThat(pg.queryString("SHOW wal_level")).isEqualTo("logical");
            assertThat(pg.queryString("SHOW server_encoding")).isEqualTo("UTF8");
            assertThat(pg.queryString("SELECT current_user")).isEqualTo("postgres");
            try (Connection c = pg.connect()) {
                assertThat(c.isValid(5)).isTrue();
            }
        }
    }

    @Test
    void createsLogicalSlotWithPgoutput() {
        try (PostgresServer pg = PostgresServer.start()) {
            pg.execute("CREATE TABLE users (id int PRIMARY KEY, name text);"
                    + " CREATE PUBLICATION users_pub FOR TABLE users;");
            // a slot cannot be created in a transaction that has written, so it gets its own call
            pg.execute("SELECT pg_create_logical_replication_slot('s', 'pgoutput')");
            assertThat(pg.queryString("SELECT plugin FROM pg_replication_slots WHERE slot_name = 's'"))
                    .isEqualTo("pgoutput");
        }
    }

    @Test
    void acceptsReplicationConnectionsOverTcpWithPassword() throws Exception {
        try (PostgresServer pg = PostgresServer.start(); Connection c = pg.connectReplication();
                var s = c.createStatement(); var rs = s.executeQuery("IDENTIFY_SYSTEM")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString("systemid")).isNotBlank();
        }
    }

    @Test
    void restartKeepsDataPortAndSlots() {
        try (PostgresServer pg = PostgresServer.start()) {
            int port = pg.port();
            pg.execute("CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')");
            pg.execute("SELECT pg_create_logical_replication_slot('keep', 'pgoutput')");
            pg.restart();
            assertThat(pg.port()).isEqualTo(port);
            assertThat(pg.isRunning()).isTrue();
            assertThat(pg.queryString("SELECT v FROM t")).isEqualTo("kept");
            assertThat(pg.queryString("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'keep'"))
                    .isEqualTo("1");
        }
    }

    @Test
    void staysDownBetweenStopServerAndStartServer() {
        try (PostgresServer pg = PostgresServer.start()) {
            pg.execute("CREATE TABLE t (v int); INSERT INTO t VALUES (1)");
            pg.stopServer();
            assertThat(pg.isRunning()).isFalse();
            assertThat(Ports.accepts(pg.host(), pg.port())).isFalse();
            pg.startServer();
            assertThat(pg.queryString("SELECT v FROM t")).isEqualTo("1");
            pg.crashServer();
            pg.startServer();
            assertThat(pg.queryString("SELECT count(*) FROM t")).isEqualTo("1");
        }
    }

    @Test
    void closeStopsServerAndDeletesDataDir() {
        PostgresServer pg = PostgresServer.start();
        Path data = pg.dataDir();
        int port = pg.port();
        pg.close();
        pg.close();
        assertThat(Files.exists(data)).isFalse();
        assertThat(Ports.accepts("127.0.0.1", port)).isFalse();
    }

    @Test
    void aStandbyFollowsItsPrimaryAndTakesOverWhenPromotedAfterAKill() {
        try (PostgresServer primary = PostgresServer.start()) {
            primary.execute("CREATE TABLE t (v int); INSERT INTO t VALUES (1)");
            try (PostgresServer standby = primary.startStandby("sb1", Map.of("hot_standby_feedback", "on"))) {
                assertThat(standby.port()).isNotEqualTo(primary.port());
                assertThat(standby.queryString("SELECT pg_is_in_recovery()")).isEqualTo("t");
                assertThat(standby.queryString("SHOW hot_standby_feedback")).isEqualTo("on");
                assertThat(standby.queryString("SELECT system_identifier FROM pg_control_system()"))
                        .isEqualTo(primary.queryString("SELECT system_identifier FROM pg_control_system()"));
                primary.execute("INSERT INTO t VALUES (2)");
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                        assertThat(standby.queryString("SELECT count(*) FROM t")).isEqualTo("2"));
                assertThat(primary.queryString("SELECT active FROM pg_replication_slots WHERE slot_name = 'sb1'"))
                        .isEqualTo("t");

                int port = primary.port();
                primary.kill();
                assertThat(primary.isRunning()).isFalse();
                assertThat(Ports.accepts(primary.host(), port)).isFalse();
                standby.promote();
                assertThat(standby.queryString("SELECT pg_is_in_recovery()")).isEqualTo("f");
                standby.execute("INSERT INTO t VALUES (3)");
                assertThat(standby.queryString("SELECT count(*) FROM t")).isEqualTo("3");
            }
        }
    }

    @Test
    void addedSettingsApplyAtOnceAndSurviveARestart() {
        try (PostgresServer pg = PostgresServer.start()) {
            pg.addSettings(Map.of("work_mem", "'7MB'"));
            assertThat(pg.queryString("SHOW work_mem")).isEqualTo("7MB");
            pg.restart();
            assertThat(pg.queryString("SHOW work_mem")).isEqualTo("7MB");
        }
    }
}
