package io.deltaforge.examples.embedded;

import io.deltaforge.api.Pipeline;
import io.deltaforge.envelopes.CloudEventsEnvelope;
import io.deltaforge.nats.NatsSink;
import io.deltaforge.postgres.PostgresSource;
import java.util.concurrent.CountDownLatch;

/**
 * The seed pipeline built in code, as an application does after adding the Maven dependencies: reads
 * {@code POSTGRES_DSN} and {@code NATS_URL}, streams {@code users_pub} into the JetStream stream
 * {@code USERS} as CloudEvents, and stops gracefully on Ctrl-C.
 *
 * <pre>{@code
 * ./dev.sh example embedded-app   # from a fresh clone: servers, tables, stream, build, run, two changes, stop
 *
 * # against your own servers, with users_pub and the stream USERS in place:
 * mvn -B -q install -DskipTests -pl examples/embedded-app -am
 * POSTGRES_DSN=postgres://... NATS_URL=nats://... mvn -pl examples/embedded-app exec:java   # or from your IDE
 * }</pre>
 */
public final class UsersToNats {
    private UsersToNats() {
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

    /** The seed pipeline: {@code users_pub} into stream {@code USERS} as CloudEvents. */
    public static Pipeline build(String dsn, String natsUrl) {
        return Pipeline.builder()
                .name("users-postgres-to-nats")
                .source(PostgresSource.builder()
                        .id("users-postgres")
                        .dsn(dsn)
                        .slot("deltaforge_users")
                        .publication("users_pub")
                        .build())
                .sink(NatsSink.builder()
                        .id("users-nats")
                        .url(natsUrl)
                        .stream("USERS")
                        .subject("users.events")
                        .build())
                .envelope(CloudEventsEnvelope.withTypePrefix("com.acme.users"))
                .build();
    }
}
