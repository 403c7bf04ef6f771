/**
 * Real-server test fixtures: a throwaway PostgreSQL cluster with {@code wal_level=logical}
 * ({@link io.deltaforge.testkit.PostgresServer}) and a JetStream-enabled nats-server
 * ({@link io.deltaforge.testkit.NatsServer}), each on a free port in its own temp directory, and a
 * JetStream cluster of such servers joined by routes ({@link io.deltaforge.testkit.NatsCluster}).
 *
 * <pre>{@code
 * try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start()) {
 *     pg.execute("CREATE TABLE users (id int PRIMARY KEY, name text)");
 *     // ... point a pipeline at pg.dsn() and nats.url()
 * }
 * }</pre>
 */
@NullMarked
package io.deltaforge.testkit;

import org.jspecify.annotations.NullMarked;
