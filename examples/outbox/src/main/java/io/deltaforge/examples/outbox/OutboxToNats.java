package io.deltaforge.examples.outbox;

import io.deltaforge.api.Pipeline;
import io.deltaforge.api.TableId;
import io.deltaforge.envelopes.OutboxEnvelope;
import io.deltaforge.nats.NatsSink;
import io.deltaforge.postgres.PostgresSource;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The transactional outbox, as Debezium's outbox event router does it, into JetStream: the application
 * writes its change and an event row into {@code outbox} in one transaction (and may delete the row in the
 * same transaction); each inserted row is published once, on {@code outbox.event.<aggregatetype>}, its
 * {@code payload} as the body and its {@code id} as {@code Nats-Msg-Id}.
 *
 * <pre>{@code
 * CREATE TABLE outbox (id uuid PRIMARY KEY, aggregatetype text NOT NULL, aggregateid text NOT NULL,
 *                      type text NOT NULL, payload jsonb);
 * CREATE PUBLICATION outbox_pub FOR TABLE outbox;
 * nats stream add OUTBOX --subjects 'outbox.>' ...
 *
 * POSTGRES_DSN=postgres://... NATS_URL=nats://... mvn -pl examples/outbox exec:java
 * }</pre>
 */
public final class OutboxToNats {
    private OutboxToNats() {
    }

    public static void main(String[] args) throws InterruptedException {
        Pipeline pipeline = build(System.getenv("POSTGRES_DSN"), System.getenv("NATS_URL"));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            pipeline.stop();
            stopped.countDown();
        }));
        pipeline.start();
        pipeline.termination().whenComplete((ok, error) -> {
            if (error != null) {
                System.err.println("pipeline failed: " + error.getMessage());
                System.exit(1);
            }
        });
        stopped.await();
    }

    /** {@code public.outbox} through {@code outbox_pub} into the stream {@code OUTBOX}. */
    public static Pipeline build(String dsn, String natsUrl) {
        return Pipeline.builder()
                .name("outbox")
                .source(PostgresSource.builder()
                        .id("shop-postgres")
                        .dsn(dsn)
                        .slot("deltaforge_outbox")
                        .publication("outbox_pub")
                        .tables(List.of("public.outbox"))
                        .build())
                .sink(NatsSink.builder()
                        .id("outbox-nats")
                        .url(natsUrl)
                        .stream("OUTBOX")
                        // Every outbox message names its own subject; this one must only be captured by the stream.
                        .subject("outbox.event.unrouted")
                        .build())
                .envelope(OutboxEnvelope.builder()
                        .table(TableId.parse("public.outbox"))
                        .subject("outbox.event.{aggregatetype}")
                        .build())
                .build();
    }
}
