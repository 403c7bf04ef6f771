package io.deltaforge.postgres.internal;

import io.deltaforge.api.TableId;
import io.deltaforge.postgres.StartPosition;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * The validated configuration of one PostgreSQL source, as {@code PostgresSource.Builder} produces it.
 *
 * @param id             source id, part of every event id
 * @param dsn            where to connect
 * @param slot           replication slot name
 * @param publication    publication name
 * @param tables         tables to emit; empty means every table of the publication
 * @param startPosition  see {@link StartPosition}
 * @param createSlot     whether a missing slot is created
 * @param statusInterval how often the stream reports its position to the server
 */
public record SourceSettings(String id, Dsn dsn, String slot, String publication, Set<TableId> tables,
                             StartPosition startPosition, boolean createSlot, Duration statusInterval) {
    public SourceSettings {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(dsn, "dsn");
        Objects.requireNonNull(slot, "slot");
        Objects.requireNonNull(publication, "publication");
        tables = Set.copyOf(tables);
        Objects.requireNonNull(startPosition, "startPosition");
        Objects.requireNonNull(statusInterval, "statusInterval");
    }
}
