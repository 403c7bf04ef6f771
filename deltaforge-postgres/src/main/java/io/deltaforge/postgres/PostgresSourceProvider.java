package io.deltaforge.postgres;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.ConfigException.Problem;
import io.deltaforge.postgres.internal.SourceSettings;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.Source;
import io.deltaforge.spi.SourceProvider;
import io.deltaforge.api.Lsn;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The {@code postgres} source type for configuration files. Keys:
 *
 * <pre>{@code
 * source:
 *   type: postgres
 *   config:
 *     id: users-postgres            # default "postgres"; part of every event id, keep it stable
 *     dsn: ${POSTGRES_DSN}          # required
 *     slot: deltaforge_users        # required
 *     publication: users_pub        # required
 *     publication_mode: existing    # existing (must exist, default) | autocreate (create/extend for tables)
 *     tables: [public.users, sales.*]   # optional; default every table of the publication; * is a wildcard
 *     start_position: earliest      # earliest | latest | {lsn: "0/16B3748"} (see StartPosition)
 *     create_slot: true             # default true
 *     failover_slot: auto           # auto (failover slot on PostgreSQL 17+, default) | true | false
 *     status_interval_secs: 10      # default 10
 *     messages: false               # emit pg_logical_emit_message messages as op "m" events
 *     toast_placeholder: "__unchanged__"   # optional; default: leave unchanged TOAST columns out
 *     heartbeat_interval_secs: 0    # 0 = off; else write a heartbeat WAL record this often
 *     bookkeeping_schema: deltaforge   # schema of the source's own tables; created when allowed
 *     max_lag_bytes: 0              # 0 = no limit; over it: WARN and not ready (see on_lag_exceeded)
 *     max_lag_secs: 0               # 0 = no limit
 *     on_lag_exceeded: warn         # warn (default) | stop (the pipeline fails)
 *     stall_timeout_secs: 300       # 0 = off; reconnect a stuck stream once, then fail
 *     slot_monitor_interval_secs: 10   # how often the slot's lag and WAL status are read
 *     snapshot:                     # optional; read existing rows first (see SnapshotMode)
 *       mode: never                 # never (default) | initial | initial_only | always
 *       chunk_size: 10000           # rows per snapshot query
 * }</pre>
 *
 * <p>Found through {@link java.util.ServiceLoader}; the constructor does nothing.
 */
public final class PostgresSourceProvider implements SourceProvider {
    public PostgresSourceProvider() {
    }

    @Override
    public String type() {
        return "postgres";
    }

    @Override
    public Source create(ProviderConfig config) {
        PostgresSource.Builder builder = PostgresSource.builder();
        builder.id(config.string("id", "postgres"));
        // Required-ness of dsn, slot and publication is checked by the builder, once.
        String dsn = config.string("dsn");
        if (dsn != null) {
            builder.dsn(dsn);
        }
        String slot = config.string("slot");
        if (slot != null) {
            builder.slot(slot);
        }
        String publication = config.string("publication");
        if (publication != null) {
            builder.publication(publication);
        }
        builder.tables(config.stringList("tables"));
        startPosition(config, builder);
        String mode = config.string("publication_mode");
        if (mode != null) {
            try {
                builder.publicationMode(PublicationMode.parse(mode));
            } catch (IllegalArgumentException e) {
                config.problem("publication_mode", e.getMessage());
            }
        }
        builder.createSlot(config.bool("create_slot", true));
        String failover = config.string("failover_slot");
        if (failover != null) {
            try {
                builder.failoverSlot(FailoverSlot.parse(failover));
            } catch (IllegalArgumentException e) {
                config.problem("failover_slot", e.getMessage());
            }
        }
        builder.statusInterval(config.seconds("status_interval_secs", Duration.ofSeconds(10), 1, 3600));
        builder.messages(config.bool("messages", false));
        String placeholder = config.string("toast_placeholder");
        if (placeholder != null) {
            builder.toastPlaceholder(placeholder);
        }
        builder.heartbeatInterval(config.seconds("heartbeat_interval_secs", Duration.ZERO, 0, 86_400));
        builder.bookkeepingSchema(config.string("bookkeeping_schema", SourceSettings.DEFAULT_BOOKKEEPING_SCHEMA));
        builder.maxLag(config.number("max_lag_bytes", 0, 0, Long.MAX_VALUE),
                config.seconds("max_lag_secs", Duration.ZERO, 0, 30L * 86_400));
        String onLag = config.string("on_lag_exceeded");
        if (onLag != null) {
            try {
                builder.onLagExceeded(LagAction.parse(onLag));
            } catch (IllegalArgumentException e) {
                config.problem("on_lag_exceeded", e.getMessage());
            }
        }
        builder.stallTimeout(config.seconds("stall_timeout_secs", Duration.ofMinutes(5), 0, 86_400));
        builder.slotMonitorInterval(config.seconds("slot_monitor_interval_secs", Duration.ofSeconds(10), 1, 3600));
        snapshot(config, builder);
        PostgresSource source = null;
        try {
            source = builder.build();
        } catch (ConfigException e) {
            for (Problem p : e.problems()) {
                config.problem(p.path(), p.message());
            }
        }
        config.throwIfInvalid();
        return source;
    }

    private static void snapshot(ProviderConfig config, PostgresSource.Builder builder) {
        if (config.raw("snapshot") == null) {
            return;
        }
        ProviderConfig section = config.section("snapshot");
        if (section == null) {
            return;
        }
        SnapshotMode mode = SnapshotMode.NEVER;
        String text = section.string("mode");
        if (text != null) {
            try {
                mode = SnapshotMode.parse(text);
            } catch (IllegalArgumentException e) {
                section.problem("mode", e.getMessage());
            }
        }
        int chunkSize = section.integer("chunk_size", 10_000, 1, 1_000_000);
        int chunks = section.integer("max_parallel_chunks", 1, 1, 64);
        int tables = section.integer("max_parallel_tables", 1, 1, 64);
        for (String key : section.unknownKeys()) {
            section.problem(key, "unknown key; known keys: chunk_size, max_parallel_chunks, max_parallel_tables, mode");
        }
        builder.snapshot(mode, chunkSize);
        builder.snapshotParallelism(chunks, tables);
    }

    private static void startPosition(ProviderConfig config, PostgresSource.Builder builder) {
        Object raw = config.raw("start_position");
        if (raw == null) {
            return;
        }
        if (raw instanceof Map<?, ?>) {
            ProviderConfig section = config.section("start_position");
            if (section == null) {
                return;
            }
            String lsn = section.string("lsn");
            if (lsn == null) {
                section.problem("lsn", "is required in the mapping form, e.g. start_position: {lsn: \"0/16B3748\"}");
            } else {
                try {
                    builder.startPosition(StartPosition.at(Lsn.parse(lsn.trim())));
                } catch (IllegalArgumentException e) {
                    section.problem("lsn", "'" + lsn + "' is not an LSN; expected hex like 0/16B3748");
                }
            }
            for (String key : section.unknownKeys()) {
                section.problem(key, "unknown key; the mapping form takes only lsn");
            }
            return;
        }
        String text = config.string("start_position");
        if (text != null && !(raw instanceof List<?>)) {
            try {
                builder.startPosition(StartPosition.parse(text));
            } catch (IllegalArgumentException e) {
                config.problem("start_position", e.getMessage());
            }
        }
    }
}
