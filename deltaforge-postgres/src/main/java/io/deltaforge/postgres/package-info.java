/**
 * The PostgreSQL logical-replication source: {@link io.deltaforge.postgres.PostgresSource}, its builder,
 * and the {@code postgres} {@link io.deltaforge.spi.SourceProvider}.
 */
@NullMarked
package io.deltaforge.postgres;

import org.jspecify.annotations.NullMarked;
