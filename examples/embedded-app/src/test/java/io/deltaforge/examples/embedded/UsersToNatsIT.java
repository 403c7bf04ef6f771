package io.deltaforge.examples.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The example application's pipeline, built with the fluent builder, against real servers. */
@Timeout(120)
class UsersToNatsIT {
    @Test
    void theBuilderPipelinePublishesCloudEventsAndStopsGracefully() throws Exception {
        try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start();
             Connection nc = nats.connect()) {
            UsersToNatsIT.createTableAndStream(pg, nc);

            Pipeline pipeline = UsersToNats.build(pg.dsn(), nats.url());
            pipeline.start();
            String beforeInsert = pg.queryString("SELECT pg_current_wal_lsn()");
            pg.execute("INSERT INTO users (name, email) VALUES ('Alice', 'alice@example.com')");
            await().atMost(30, TimeUnit.SECONDS).until(() ->
                    nc.jetStreamManagement().getStreamInfo("USERS").getStreamState().getMsgCount() == 1);
            pipeline.stop();

            assertThat(pipeline.status().state()).isEqualTo(PipelineState.STOPPED);
            String body = new String(nc.jetStreamManagement().getMessage("USERS", 1).getData(), StandardCharsets.UTF_8);
            assertThat(body).contains("\"type\":\"com.acme.users.created\"").contains("\"name\":\"Alice\"");
            // The stop acknowledged the insert's commit to the server.
            assertThat(pg.queryString("SELECT confirmed_flush_lsn > '" + beforeInsert + "'::pg_lsn "
                    + "FROM pg_replication_slots WHERE slot_name = 'deltaforge_users'")).isEqualTo("t");
        }
    }

    /** The example's table, its publication users_pub and the stream USERS. */
    static void createTableAndStream(PostgresServer pg, Connection nc) throws Exception {
        pg.execute("""
                CREATE TABLE users (id serial PRIMARY KEY, name text, email text);
                CREATE PUBLICATION users_pub FOR TABLE users;
                """);
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("USERS").subjects("users.>").build());
    }
}
