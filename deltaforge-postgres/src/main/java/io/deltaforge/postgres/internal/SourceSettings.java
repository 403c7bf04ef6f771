package io.deltaforge.postgres.internal;

import io.deltaforge.api.TableId;
import io.deltaforge.postgres.FailoverSlot;
import io.deltaforge.postgres.PublicationMode;
import io.deltaforge.postgres.SnapshotMode;
import io.deltaforge.postgres.StartPosition;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The validated configuration of one PostgreSQL source, as {@code PostgresSource.Builder} produces it.
 *
 * @param id                source id, part of every event id
 * @param dsn               where to connect
 * @param slot              replication slot name
 * @param publication       publication name
 * @param tables            tables (or patterns) to emit; empty means every table of the publication
 * @param startPosition     see {@link StartPosition}
 * @param createSlot        whether a missing slot is created
 * @param statusInterval    how often the stream reports its position to the server
 * @param publicationMode   whether the publication must exist or is created/extended
 * @param messages          whether logical decoding messages are requested and emitted
 * @param toastPlaceholder  value for unchanged TOAST columns in {@code after}; null to leave them out
 * @param heartbeatInterval how often a heartbeat message is written; null for never
 * @param snapshotMode      whether existing rows are read first; see {@link SnapshotMode}
 * @param snapshotChunkSize rows per snapshot query (and the most snapshot rows held in memory)
 * @param snapshotMaxParallelChunks chunks an incremental snapshot reads concurrently in one window
 * @param snapshotMaxParallelTables tables of a snapshot request that progress at once
 * @param bookkeepingSchema schema of the source's own tables ({@link #snapshotsTable()}, {@link #progressTable()})
 * @param monitor           how the slot is watched (lag limits, stall timeout)
 * @param failoverSlot      whether the slot is a failover slot (PostgreSQL 17+)
 */
public record SourceSettings(String id, Dsn dsn, String slot, String publication, List<TablePattern> tables,
                             StartPosition startPosition, boolean createSlot, Duration statusInterval,
                             PublicationMode publicationMode, boolean messages, @Nullable String toastPlaceholder,
                             @Nullable Duration heartbeatInterval, SnapshotMode snapshotMode,
                             int snapshotChunkSize, int snapshotMaxParallelChunks, int snapshotMaxParallelTables,
                             String bookkeepingSchema, MonitorSettings monitor, FailoverSlot failoverSlot) {
    /** The default of {@link #bookkeepingSchema()}. */
    public static final String DEFAULT_BOOKKEEPING_SCHEMA = "deltaforge";

    /** Settings without a snapshot. */
    public SourceSettings(String id, Dsn dsn, String slot, String publication, List<TablePattern> tables,
                          StartPosition startPosition, boolean createSlot, Duration statusInterval,
                          PublicationMode publicationMode, boolean messages, @Nullable String toastPlaceholder,
                          @Nullable Duration heartbeatInterval) {
        this(id, dsn, slot, publication, tables, startPosition, createSlot, statusInterval, publicationMode,
                messages, toastPlaceholder, heartbeatInterval, SnapshotMode.NEVER, 10_000, 1, 1,
                DEFAULT_BOOKKEEPING_SCHEMA, MonitorSettings.DEFAULT, FailoverSlot.AUTO);
    }

    public SourceSettings {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(dsn, "dsn");
        Objects.requireNonNull(slot, "slot");
        Objects.requireNonNull(publication, "publication");
        tables = List.copyOf(tables);
        Objects.requireNonNull(startPosition, "startPosition");
        Objects.requireNonNull(statusInterval, "statusInterval");
        Objects.requireNonNull(publicationMode, "publicationMode");
        Objects.requireNonNull(snapshotMode, "snapshotMode");
        Objects.requireNonNull(bookkeepingSchema, "bookkeepingSchema");
        Objects.requireNonNull(monitor, "monitor");
        Objects.requireNonNull(failoverSlot, "failoverSlot");
        if (snapshotChunkSize < 1) {
            throw new IllegalArgumentException("snapshotChunkSize < 1");
        }
        if (snapshotMaxParallelChunks < 1 || snapshotMaxParallelTables < 1) {
            throw new IllegalArgumentException("snapshotMaxParallelChunks < 1 or snapshotMaxParallelTables < 1");
        }
    }

    /** The table where snapshot completion is recorded; never emitted. */
    public TableId snapshotsTable() {
        return new TableId(bookkeepingSchema, Bookkeeping.SNAPSHOTS);
    }

    /** The table where incremental snapshot requests and their progress are kept; never emitted. */
    public TableId progressTable() {
        return new TableId(bookkeepingSchema, Bookkeeping.PROGRESS);
    }

    /** The source's own tables, here or where an earlier version kept them. */
    private boolean bookkeeping(TableId t) {
        boolean ours = t.schema().equals(bookkeepingSchema) || t.schema().equals(Bookkeeping.LEGACY_SCHEMA);
        return ours && (t.table().equals(Bookkeeping.SNAPSHOTS) || t.table().equals(Bookkeeping.PROGRESS));
    }

    /** Whether events of {@code table} are emitted. */
    public Predicate<TableId> tableFilter() {
        // The snapshot bookkeeping table may be published (FOR ALL TABLES); its rows are not user data.
        if (tables.isEmpty()) {
            return t -> !bookkeeping(t);
        }
        List<TablePattern> patterns = tables;
        return t -> {
            if (bookkeeping(t)) {
                return false;
            }
            for (TablePattern p : patterns) {
                if (p.matches(t)) {
                    return true;
                }
            }
            return false;
        };
    }
}
