package io.deltaforge.examples.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.deltaforge.api.Pipeline;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The outbox example against real PostgreSQL and nats-server. */
@Timeout(180)
class OutboxToNatsIT {
    private static final String ORDER_EVENT = "8a1c5b6e-0f5e-4a4e-9d3f-1b2c3d4e5f60";
    private static final String CUSTOMER_EVENT = "0c7d9e21-5a3b-4c8d-8e6f-7a8b9c0d1e2f";

    @Test
    void publishesEachInsertedOutboxRowOnceOnItsAggregatesSubjectAndMovesPastDeletes() throws Exception {
        try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start();
             Connection nc = nats.connect()) {
            pg.execute("""
                    CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2));
                    CREATE TABLE outbox (id uuid PRIMARY KEY, aggregatetype text NOT NULL,
                                         aggregateid text NOT NULL, type text NOT NULL, payload jsonb);
                    CREATE PUBLICATION outbox_pub FOR TABLE outbox;
                    """);
            JetStreamManagement jsm = nc.jetStreamManagement();
            jsm.addStream(StreamConfiguration.builder().name("OUTBOX").subjects("outbox.>")
                    .duplicateWindow(Duration.ofMinutes(5)).build());

            Pipeline pipeline = OutboxToNats.build(pg.dsn(), nats.url());
            pipeline.start();
            try {
                // The business change and its event in one transaction; the row is deleted at once, as
                // outbox tables usually are: the delete is not published.
                pg.execute("BEGIN; INSERT INTO orders VALUES (1, 25.50); "
                        + "INSERT INTO outbox VALUES ('" + ORDER_EVENT + "', 'Order', '1', 'OrderCreated', "
                        + "'{\"id\": 1, \"total\": 25.50}'); DELETE FROM outbox; COMMIT;");
                pg.execute("INSERT INTO outbox VALUES ('" + CUSTOMER_EVENT + "', 'Customer', 'c-9', "
                        + "'CustomerRenamed', '{\"name\": \"Bob\"}')");
                pg.execute("UPDATE outbox SET type = 'Changed'; DELETE FROM outbox");
                // The same event id again: JetStream drops it as a duplicate.
                pg.execute("INSERT INTO outbox VALUES ('" + ORDER_EVENT + "', 'Order', '1', 'OrderCreated', "
                        + "'{\"id\": 1, \"total\": 25.50}')");
                // The insert position: pg_current_wal_lsn() (the write position) lags with synchronous_commit off.
                String afterLast = pg.queryString("SELECT pg_current_wal_insert_lsn()");

                // The slot passes every transaction, also the one that published nothing.
                await().atMost(Duration.ofSeconds(60)).until(() -> "t".equals(pg.queryString(
                        "SELECT confirmed_flush_lsn >= '" + afterLast + "'::pg_lsn FROM pg_replication_slots "
                                + "WHERE slot_name = 'deltaforge_outbox'")));
                assertThat(jsm.getStreamInfo("OUTBOX").getStreamState().getMsgCount()).isEqualTo(2);

                MessageInfo order = jsm.getMessage("OUTBOX", 1);
                assertThat(order.getSubject()).isEqualTo("outbox.event.Order");
                assertThat(order.getHeaders().getFirst("Nats-Msg-Id")).isEqualTo(ORDER_EVENT);
                assertThat(order.getHeaders().getFirst("Content-Type")).isEqualTo("application/json");
                assertThat(order.getHeaders().getFirst("aggregateid")).isEqualTo("1");
                assertThat(order.getHeaders().getFirst("type")).isEqualTo("OrderCreated");
                assertThat(order.getHeaders().getFirst("payload")).isNull();
                assertThat(new String(order.getData(), StandardCharsets.UTF_8)).isEqualTo("{\"id\": 1, \"total\": 25.50}");

                MessageInfo customer = jsm.getMessage("OUTBOX", 2);
                assertThat(customer.getSubject()).isEqualTo("outbox.event.Customer");
                assertThat(customer.getHeaders().getFirst("Nats-Msg-Id")).isEqualTo(CUSTOMER_EVENT);
                assertThat(new String(customer.getData(), StandardCharsets.UTF_8)).isEqualTo("{\"name\": \"Bob\"}");
            } finally {
                pipeline.stop();
            }
        }
    }
}
