package io.deltaforge.postgres;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.ConfigException.Problem;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.TableId;
import io.deltaforge.postgres.internal.Dsn;
import io.deltaforge.postgres.internal.ReplicationSession;
import io.deltaforge.postgres.internal.SourceSettings;
import io.deltaforge.spi.Source;
import io.deltaforge.spi.SourceRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Streams committed changes from PostgreSQL through logical replication (the built-in {@code pgoutput}
 * plugin, protocol version 1) as {@link io.deltaforge.api.ChangeEvent}s, each transaction closed by a
 * {@link io.deltaforge.spi.TransactionCommit}, with {@link io.deltaforge.spi.Heartbeat}s while idle.
 *
 * <pre>{@code
 * Source source = PostgresSource.builder()
 *         .id("users-postgres")
 *         .dsn("postgres://replicator:secret@db:5432/app")
 *         .slot("deltaforge_users")
 *         .publication("users_pub")
 *         .tables(List.of("public.users", "public.profiles"))
 *         .build();
 * }</pre>
 *
 * <p>Server requirements: {@code wal_level=logical}; the publication must exist ({@code CREATE
 * PUBLICATION users_pub FOR TABLE public.users, public.profiles;}); the user needs the REPLICATION
 * attribute (or superuser) and, to create the slot, nothing more. {@link #start()} checks all of this and
 * says what to run when something is missing. It creates the slot when absent (unless
 * {@code createSlot(false)}); it never creates or changes the publication.
 *
 * <p>Delivery: the slot's position moves only when {@link #acknowledge(Lsn)} is called; after a restart
 * the source resumes after the last acknowledged transaction, and unacknowledged ones come back with the
 * same event ids. Value types are described in {@link io.deltaforge.postgres.internal.TypeMapper}: numbers
 * as Long/Double/BigDecimal, timestamptz as RFC 3339 UTC text, json as RawJson. A column whose large
 * (TOASTed) value an update did not change is absent from {@code after}, not null.
 *
 * <p>Threading follows {@link Source}: {@code start}, {@code poll} and {@code close} on one thread,
 * {@code acknowledge} from any. Failures: {@link io.deltaforge.api.RetryableException} when the server is
 * unreachable, the connection drops or the slot is in use elsewhere; {@link DeltaforgeException} for setup
 * problems (wal_level, missing publication, missing or invalidated slot, wrong credentials).
 */
public final class PostgresSource implements Source {
    private final SourceSettings settings;
    /** Highest acknowledged LSN; 0 until the first acknowledgement. Shared with the reader's session. */
    private final AtomicLong acknowledged = new AtomicLong();
    private @Nullable ReplicationSession session;

    private PostgresSource(SourceSettings settings) {
        this.settings = settings;
    }

    /** A builder with the defaults: id {@code postgres}, start position earliest, create slot, status every 10 s. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String id() {
        return settings.id();
    }

    /** The slot this source reads. */
    public String slot() {
        return settings.slot();
    }

    /** The publication this source reads. */
    public String publication() {
        return settings.publication();
    }

    /** Connects, checks the server, creates the slot if needed and starts streaming; restarts if running. */
    @Override
    public void start() {
        close();
        session = ReplicationSession.open(settings, acknowledged);
    }

    @Override
    public @Nullable SourceRecord poll(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        ReplicationSession s = session;
        if (s == null) {
            throw new IllegalStateException("source '" + settings.id() + "' is not started; call start() first");
        }
        return s.poll(timeout);
    }

    /** Records the position; the reader thread reports it to the server on its next poll or on close. */
    @Override
    public void acknowledge(Lsn position) {
        Objects.requireNonNull(position, "position");
        acknowledged.accumulateAndGet(position.value(), (a, b) -> Long.compareUnsigned(a, b) >= 0 ? a : b);
    }

    /** The highest position acknowledged so far, {@link Lsn#ZERO} when none. */
    public Lsn acknowledgedPosition() {
        return new Lsn(acknowledged.get());
    }

    /** Reports the last acknowledged position to the server, then disconnects. Idempotent. */
    @Override
    public void close() {
        ReplicationSession s = session;
        session = null;
        if (s != null) {
            s.close();
        }
    }

    @Override
    public String toString() {
        return "PostgresSource[id=" + settings.id() + ", " + settings.dsn().describe() + ", slot=" + settings.slot()
                + ", publication=" + settings.publication() + "]";
    }

    /**
     * Configures a {@link PostgresSource}. Setters reject null; {@link #build()} checks everything and
     * reports all problems in one {@link ConfigException}, with paths named like the YAML keys
     * ({@code dsn}, {@code slot}, ...). Not thread-safe; use once.
     */
    public static final class Builder {
        private static final Pattern SLOT_NAME = Pattern.compile("[a-z0-9_]{1,63}");

        private String id = "postgres";
        private @Nullable String dsn;
        private @Nullable String slot;
        private @Nullable String publication;
        private List<String> tables = List.of();
        private StartPosition startPosition = StartPosition.EARLIEST;
        private boolean createSlot = true;
        private Duration statusInterval = Duration.ofSeconds(10);

        private Builder() {
        }

        /** The source id, part of every event id: keep it stable. Default {@code postgres}. */
        public Builder id(String id) {
            this.id = Objects.requireNonNull(id, "id");
            return this;
        }

        /** Connection string: postgres:// URL, libpq key=value, or jdbc:postgresql:// URL. Required. */
        public Builder dsn(String dsn) {
            this.dsn = Objects.requireNonNull(dsn, "dsn");
            return this;
        }

        /** Replication slot name (lower-case letters, digits, underscore). Required. */
        public Builder slot(String slot) {
            this.slot = Objects.requireNonNull(slot, "slot");
            return this;
        }

        /** Publication name; it must exist. Required. */
        public Builder publication(String publication) {
            this.publication = Objects.requireNonNull(publication, "publication");
            return this;
        }

        /**
         * Only emit changes of these tables ({@code schema.table}, or {@code table} for {@code public});
         * empty (the default) means every table of the publication. Filtered transactions still yield
         * their {@code TransactionCommit}.
         */
        public Builder tables(List<String> tables) {
            Objects.requireNonNull(tables, "tables");
            for (int i = 0; i < tables.size(); i++) {
                Objects.requireNonNull(tables.get(i), "tables[" + i + "]");
            }
            this.tables = List.copyOf(tables);
            return this;
        }

        /** See {@link StartPosition}; default {@link StartPosition#EARLIEST}. */
        public Builder startPosition(StartPosition startPosition) {
            this.startPosition = Objects.requireNonNull(startPosition, "startPosition");
            return this;
        }

        /** Whether {@link #start()} creates a missing slot; default true. */
        public Builder createSlot(boolean createSlot) {
            this.createSlot = createSlot;
            return this;
        }

        /** How often the position is reported to the server even without news; default 10 s. */
        public Builder statusInterval(Duration statusInterval) {
            this.statusInterval = Objects.requireNonNull(statusInterval, "statusInterval");
            return this;
        }

        /** Validates and builds; throws {@link ConfigException} listing every problem. */
        public PostgresSource build() {
            List<Problem> problems = new ArrayList<>();
            if (id.isBlank()) {
                problems.add(new Problem("id", "is empty; give the source a stable name such as 'users-postgres'"));
            }
            Dsn parsed = null;
            if (dsn == null || dsn.isBlank()) {
                problems.add(new Problem("dsn", "is required, e.g. postgres://user:password@host:5432/database"));
            } else {
                try {
                    parsed = Dsn.parse(dsn);
                } catch (ConfigException e) {
                    problems.addAll(e.problems());
                }
            }
            if (slot == null || slot.isBlank()) {
                problems.add(new Problem("slot", "is required, e.g. deltaforge_users"));
            } else if (!SLOT_NAME.matcher(slot).matches()) {
                problems.add(new Problem("slot", "'" + slot + "' is not a valid slot name; use 1 to 63 lower-case "
                        + "letters, digits and underscores, e.g. deltaforge_users"));
            }
            if (publication == null || publication.isBlank()) {
                problems.add(new Problem("publication", "is required, e.g. users_pub"));
            } else if (publication.indexOf('\'') >= 0 || publication.indexOf('"') >= 0
                    || publication.length() > 63) {
                problems.add(new Problem("publication", "'" + publication + "' is not a usable publication name; "
                        + "use at most 63 characters without quotes"));
            }
            Set<TableId> tableIds = new LinkedHashSet<>();
            for (int i = 0; i < tables.size(); i++) {
                String t = tables.get(i).trim();
                int dot = t.indexOf('.');
                if (t.isEmpty() || dot == 0 || dot == t.length() - 1) {
                    problems.add(new Problem("tables[" + i + "]", "'" + tables.get(i)
                            + "' is not a table name; expected schema.table, e.g. public.users"));
                } else {
                    tableIds.add(TableId.parse(t));
                }
            }
            if (statusInterval.isNegative() || statusInterval.toMillis() < 100
                    || statusInterval.compareTo(Duration.ofHours(1)) > 0) {
                problems.add(new Problem("status_interval", statusInterval
                        + " is out of range; expected 100 ms to 1 hour, e.g. 10 seconds"));
            }
            if (!problems.isEmpty()) {
                throw new ConfigException(problems);
            }
            return new PostgresSource(new SourceSettings(id, Objects.requireNonNull(parsed), slot, publication,
                    tableIds, startPosition, createSlot, statusInterval));
        }
    }
}
