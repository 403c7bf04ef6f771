package io.deltaforge.examples.idempotent;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.Pipeline;
import io.deltaforge.consumer.DeltaforgeConsumer;
import io.deltaforge.envelopes.CloudEventsEnvelope;
import io.deltaforge.nats.NatsSink;
import io.deltaforge.postgres.PostgresSource;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.api.StreamConfiguration;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Orders from a real pipeline; a copy handed again after its effect committed changes no total. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OrderTotalsIT {
    @Test
    void aChangeHandedAgainAfterItsEffectCommittedCountsOnce() throws Exception {
        try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start();
             Connection nc = nats.connect()) {
            pg.execute("CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL);"
                    + "CREATE PUBLICATION orders_pub FOR TABLE orders");
            nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("ORDERS").subjects("orders.>").build());
            OrderTotals totals = new OrderTotals(pg.jdbcUrl() + (pg.jdbcUrl().contains("?") ? "&" : "?") + "user="
                    + pg.user() + "&password=" + pg.password());
            totals.createTables();
            try (Pipeline pipeline = Pipeline.builder().name("orders")
                    .source(PostgresSource.builder().id("pg").dsn(pg.dsn()).slot("orders_slot")
                            .publication("orders_pub").build())
                    .sink(NatsSink.builder().id("nats").url(nats.url()).stream("ORDERS").subject("orders.events").build())
                    .envelope(CloudEventsEnvelope.withTypePrefix("com.acme.orders"))
                    .batch(new BatchConfig(100, 1 << 20, Duration.ofMillis(20), true)).build()) {
                pipeline.start();
                pg.execute("INSERT INTO orders VALUES (1, 'ann', 10.50), (2, 'ann', 4.25), (3, 'bob', 7)");

                List<String> attempts = new CopyOnWriteArrayList<>();
                try (DeltaforgeConsumer consumer = DeltaforgeConsumer.builder().url(nats.url()).stream("ORDERS")
                        .durable("order-totals").backoff(Duration.ofMillis(50), Duration.ofMillis(100))
                        .handler(change -> {
                            totals.handle(change);
                            attempts.add(change.after().get("id").asText() + "@" + change.attempt());
                            if (change.after().get("id").asInt() == 2 && change.attempt() == 1) {
                                // committed, then lost before the acknowledgement: the copy comes again
                                throw new IllegalStateException("crash before ack");
                            }
                        }).build()) {
                    consumer.start();
                    Awaitility.await("every order handled").atMost(Duration.ofSeconds(30))
                            .until(() -> attempts.size() >= 4);
                }
                assertThat(attempts).containsExactly("1@1", "2@1", "2@2", "3@1");
                assertThat(pg.queryString("SELECT total FROM customer_totals WHERE customer = 'ann'"))
                        .isEqualTo("14.75");
                assertThat(pg.queryString("SELECT total FROM customer_totals WHERE customer = 'bob'")).isEqualTo("7");
                assertThat(pg.queryString("SELECT count(*) FROM processed_events")).isEqualTo("3");
            }
        }
    }
}
