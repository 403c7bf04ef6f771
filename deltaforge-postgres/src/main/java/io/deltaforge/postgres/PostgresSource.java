package io.deltaforge.postgres;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.ConfigException.Problem;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.postgres.internal.ClusterIdentity;
import io.deltaforge.postgres.internal.Dsn;
import io.deltaforge.api.SnapshotRequest;
import io.deltaforge.postgres.internal.InitialSnapshot;
import io.deltaforge.postgres.internal.MonitorSettings;
import io.deltaforge.postgres.internal.SlotMonitor;
import io.deltaforge.postgres.internal.SlotWait;
import io.deltaforge.postgres.internal.SnapshotMetrics;
import io.deltaforge.postgres.internal.SnapshotStore;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.deltaforge.postgres.internal.ReplicationSession;
import io.deltaforge.postgres.internal.ServerChecks;
import io.deltaforge.postgres.internal.SourceSettings;
import io.deltaforge.postgres.internal.TablePattern;
import io.deltaforge.spi.Source;
import io.deltaforge.spi.SourceRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * <p>Server requirements: {@code wal_level=logical}; the publication must exist and contain every listed
 * table ({@code CREATE PUBLICATION users_pub FOR TABLE public.users, public.profiles;}), unless
 * {@link PublicationMode#AUTOCREATE} lets the source create or extend it; the user needs the REPLICATION
 * attribute (or superuser) and, to create the slot, nothing more. {@link #start()} checks all of this and
 * says what to run when something is missing; it warns about listed tables that have no primary key or
 * replica identity (their UPDATE and DELETE fail on the server while published). It creates the slot when
 * absent (unless {@code createSlot(false)}).
 *
 * <p>Options: {@link Builder#startPosition} (earliest, latest, an LSN), {@link Builder#messages} (emit
 * {@code pg_logical_emit_message} messages as {@link io.deltaforge.api.Op#MESSAGE} events),
 * {@link Builder#toastPlaceholder}, {@link Builder#heartbeatInterval} (write a tiny WAL record now and then,
 * so that a quiet or fully filtered database releases WAL), {@link Builder#snapshot} (emit the existing rows,
 * consistent with the stream; see {@link SnapshotMode} and docs/snapshots.md). While streaming,
 * {@link #requestSnapshot} (or a {@code deltaforge.signal} logical decoding message) re-reads chosen tables
 * between watermarks, without locks, resuming after a restart where the last acknowledged chunk ended. TLS comes from the DSN
 * ({@code sslmode}, {@code sslrootcert}, {@code sslcert}, {@code sslkey}; see
 * {@link io.deltaforge.postgres.internal.Dsn}).
 *
 * <p>Delivery: the slot's position moves only when {@link #acknowledge(Lsn)} is called; after a restart
 * the source resumes after the last acknowledged transaction, and unacknowledged ones come back with the
 * same event ids. Value types are described in {@link io.deltaforge.postgres.internal.TypeMapper}. A column
 * whose large (TOASTed) value an update did not change is listed in
 * {@link io.deltaforge.api.ChangeEvent#unchangedColumns()} and absent from {@code after} (or set to the
 * configured placeholder), never null. Events carry a per-table schema version that grows when the table's
 * columns change (counted per connection; see {@link io.deltaforge.postgres.internal.PgOutputDecoder}).
 * Transactions are streamed, never buffered: memory does not grow with transaction size.
 *
 * <p>Threading follows {@link Source}: {@code start}, {@code poll} and {@code close} on one thread,
 * {@code acknowledge} from any. Failures: {@link io.deltaforge.api.RetryableException} when the server is
 * unreachable or the connection drops; {@link DeltaforgeException} for setup
 * problems (wal_level, missing publication, missing or invalidated slot, wrong credentials).
 */
public final class PostgresSource implements Source {
    private static final Logger log = LoggerFactory.getLogger(PostgresSource.class);
    private final SourceSettings settings;
    /** Highest acknowledged LSN; 0 until the first acknowledgement. Shared with the reader's session. */
    private final AtomicLong acknowledged = new AtomicLong();
    /** Set when an incremental snapshot request was stored; the reader's session then loads it. */
    private final AtomicBoolean snapshotRequested = new AtomicBoolean();
    private final SnapshotMetrics snapshotMetrics = new SnapshotMetrics();
    private final SlotMonitor monitor;
    /** The cluster the sessions stream from, across reconnects (and failovers). */
    private final ClusterIdentity cluster = new ClusterIdentity();
    // volatile: read by metric threads through newestPosition()
    private volatile @Nullable ReplicationSession session;
    /** The initial snapshot being read or awaiting delivery; null when streaming. */
    private @Nullable InitialSnapshot snapshot;
    /** Another connection holds the slot: this source is a standby until it lets go; null otherwise. */
    private volatile @Nullable SlotWait slotWait; // volatile: degraded() is read by status threads
    /** initial_only: the snapshot is delivered (or was before), nothing more will come. */
    private boolean finished;
    /** Whether a start position other than the slot's has been applied; only the first start does that. */
    private boolean positioned;

    private PostgresSource(SourceSettings settings) {
        this.settings = settings;
        this.monitor = new SlotMonitor(settings, acknowledged, this::newestPosition);
    }

    /**
     * A builder with the defaults: id {@code postgres}, start position earliest, create slot, status every
     * 10 s, existing publication, no messages, unchanged TOAST columns left out, no heartbeat writes.
     */
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

    /** The validated settings; for tests in this package. */
    SourceSettings settings() {
        return settings;
    }

    /** The publication this source reads. */
    public String publication() {
        return settings.publication();
    }

    /** Checks the server, privileges, publication and slot as {@link #start()} would; changes nothing. */
    @Override
    public List<String> check() {
        return ServerChecks.check(settings);
    }

    /**
     * Connects, checks the server, creates the slot if needed and starts streaming; restarts if running.
     * Also starts the slot monitor (lag, WAL status, stalls; see {@link Builder#maxLag}).
     *
     * <p>When another connection streams from the slot (another runner with the same configuration), the
     * source becomes a standby instead: {@code start} returns, {@link #poll} returns nothing while it checks
     * every 100–500 ms who holds the slot, {@link #degraded()} says it is waiting and for which server
     * process, and the first poll after the holder lets go opens the session and resumes from the slot.
     */
    @Override
    public void start() {
        close();
        monitor.check();
        if (!finished) {
            slotWait = SlotWait.ifHeld(settings);
            if (slotWait != null) {
                return; // a standby: poll() takes the slot over once its holder lets go
            }
        }
        open();
        if (!finished) {
            monitor.start(session != null);
        }
    }

    private void open() {
        if (settings.snapshotMode() != SnapshotMode.NEVER && !finished) {
            InitialSnapshot s = InitialSnapshot.begin(settings, !positioned);
            if (s != null) {
                snapshot = s;
                // The snapshot fixes the slot's start at its consistent point; a start position would skip
                // changes the snapshot does not contain.
                positioned = true;
                return;
            }
            if (settings.snapshotMode() == SnapshotMode.INITIAL_ONLY) {
                finish();
                return;
            }
        }
        if (finished) {
            return;
        }
        session = ReplicationSession.open(settings, acknowledged, !positioned, snapshotRequested, snapshotMetrics,
                cluster);
        positioned = true;
    }

    private void finish() {
        finished = true;
        monitor.stop();
        log.info("source '{}': initial_only snapshot of slot '{}' delivered; nothing more will be emitted, stop the "
                + "pipeline", settings.id(), settings.slot());
    }

    @Override
    public @Nullable SourceRecord poll(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        monitor.check();
        SlotWait waiting = slotWait;
        if (waiting != null) {
            if (waiting.stillHeld(timeout)) {
                return null;
            }
            slotWait = null;
            open();
            monitor.start(session != null);
            return null;
        }
        monitor.reading();
        InitialSnapshot snap = snapshot;
        if (snap != null) {
            SourceRecord record = snap.next();
            if (record != null) {
                return record;
            }
            // Everything is handed out: wait for the engine to acknowledge the final commit, which it does only
            // once every row before it is delivered, then stream.
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!snap.delivered(acknowledged.get())) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return null;
                }
                Thread.sleep(Math.max(1, Math.min(10, left / 1_000_000)));
            }
            snap.markCompleted();
            snap.close();
            snapshot = null;
            if (settings.snapshotMode() == SnapshotMode.INITIAL_ONLY) {
                finish();
                return null;
            }
            session = ReplicationSession.open(settings, acknowledged, false, snapshotRequested, snapshotMetrics,
                    cluster);
            monitor.start(true);
            return null;
        }
        if (finished) {
            Thread.sleep(Math.max(0, timeout.toMillis()));
            return null;
        }
        ReplicationSession s = session;
        if (s == null) {
            throw new IllegalStateException("source '" + settings.id() + "' is not started; call start() first");
        }
        return s.poll(timeout);
    }

    /**
     * Starts an incremental snapshot: checks the request against the server (every table captured by this
     * source and keyed by a primary key or replica identity index, the condition's columns and literals
     * fitting each table, the user allowed to call {@code pg_logical_emit_message}), stores it in
     * {@code deltaforge_snapshot_progress} (in the bookkeeping schema) and returns; the running session (or
     * the next one) reads the tables chunk by chunk between watermarks while streaming. See docs/snapshots.md.
     * Thread-safe.
     *
     * @throws ConfigException     naming each bad table or the condition, and the fix
     * @throws DeltaforgeException when the server cannot be reached or the request cannot be stored
     */
    @Override
    public void requestSnapshot(SnapshotRequest request) {
        Objects.requireNonNull(request, "request");
        String snapshotId = SnapshotStore.request(settings, request.tables(), request.condition());
        snapshotRequested.set(true);
        log.info("source '{}': snapshot {} of {} requested{}", settings.id(), snapshotId, request.tables(),
                request.condition() == null ? "" : " where " + request.condition());
    }

    /**
     * Publishes snapshot progress gauges ({@code deltaforge.snapshot.*}; see docs/snapshots.md) and the slot's
     * ({@code deltaforge.slot.*}; see docs/configuration.md).
     */
    @Override
    public void bindMetrics(MeterRegistry registry, Tags tags) {
        snapshotMetrics.bind(Objects.requireNonNull(registry, "registry"), Objects.requireNonNull(tags, "tags"));
        monitor.bind(registry, tags);
    }

    /**
     * Why the source is degraded: waiting for a slot another reader holds, replication lag over a limit, an
     * unreserved slot, a stall; null when fine.
     */
    @Override
    public @Nullable String degraded() {
        SlotWait waiting = slotWait;
        return waiting != null ? waiting.reason() : monitor.degraded();
    }

    /** Records the position; the reader thread reports it to the server on its next poll or on close. */
    @Override
    public void acknowledge(Lsn position) {
        Objects.requireNonNull(position, "position");
        acknowledged.accumulateAndGet(position.value(), (a, b) -> Long.compareUnsigned(a, b) >= 0 ? a : b);
    }

    /** The newest WAL position the server has sent (for lag metrics); null when not streaming. */
    @Override
    public @Nullable Lsn newestPosition() {
        ReplicationSession current = session;
        return current == null ? null : current.newestPosition();
    }

    /** The highest position acknowledged so far, {@link Lsn#ZERO} when none. */
    public Lsn acknowledgedPosition() {
        return new Lsn(acknowledged.get());
    }

    /** Reports the last acknowledged position to the server, then disconnects. Idempotent. */
    @Override
    public void close() {
        monitor.stop();
        SlotWait waiting = slotWait;
        slotWait = null;
        if (waiting != null) {
            waiting.close();
        }
        InitialSnapshot snap = snapshot;
        snapshot = null;
        if (snap != null) {
            snap.close();
        }
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
        private static final Pattern SCHEMA_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,62}");

        private String id = "postgres";
        private @Nullable String dsn;
        private @Nullable String slot;
        private @Nullable String publication;
        private List<String> tables = List.of();
        private StartPosition startPosition = StartPosition.EARLIEST;
        private boolean createSlot = true;
        private Duration statusInterval = Duration.ofSeconds(10);
        private PublicationMode publicationMode = PublicationMode.EXISTING;
        private boolean messages;
        private @Nullable String toastPlaceholder;
        private Duration heartbeatInterval = Duration.ZERO;
        private SnapshotMode snapshotMode = SnapshotMode.NEVER;
        private int snapshotChunkSize = 10_000;
        private int snapshotMaxParallelChunks = 1;
        private int snapshotMaxParallelTables = 1;
        private String bookkeepingSchema = SourceSettings.DEFAULT_BOOKKEEPING_SCHEMA;
        private Duration slotMonitorInterval = MonitorSettings.DEFAULT.interval();
        private FailoverSlot failoverSlot = FailoverSlot.AUTO;
        private long maxLagBytes;
        private Duration maxLagTime = Duration.ZERO;
        private LagAction onLagExceeded = LagAction.WARN;
        private Duration stallTimeout = Objects.requireNonNull(MonitorSettings.DEFAULT.stallTimeout());

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

        /** Publication name; it must exist unless {@link #publicationMode} is AUTOCREATE. Required. */
        public Builder publication(String publication) {
            this.publication = Objects.requireNonNull(publication, "publication");
            return this;
        }

        /**
         * Only emit changes of these tables ({@code schema.table}, or {@code table} for {@code public}), each
         * optionally a pattern with {@code *} ({@code public.*}, {@code sales.order_*}; see
         * {@link TablePattern}); empty (the default) means every table of the publication. At start every
         * named table must exist and be in the publication, and every pattern must match at least one table
         * there. Filtered transactions still yield their {@code TransactionCommit}.
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

        /** EXISTING (default): the publication must exist; AUTOCREATE: create or extend it for {@code tables}. */
        public Builder publicationMode(PublicationMode publicationMode) {
            this.publicationMode = Objects.requireNonNull(publicationMode, "publicationMode");
            return this;
        }

        /**
         * Whether logical decoding messages ({@code pg_logical_emit_message}) are emitted as
         * {@link io.deltaforge.api.Op#MESSAGE} events; default false. (The source always asks the server for
         * messages, for its snapshot watermarks and signals, which never become events.) Changing it changes
         * the {@code indexInTx} (and so the ids) of events that follow a transactional message in its
         * transaction.
         */
        public Builder messages(boolean messages) {
            this.messages = messages;
            return this;
        }

        /**
         * Put this string in {@code after} for a TOASTed column an update did not change, instead of leaving
         * the column out; either way it is listed in {@code unchangedColumns}. Default: leave it out.
         */
        public Builder toastPlaceholder(String toastPlaceholder) {
            this.toastPlaceholder = Objects.requireNonNull(toastPlaceholder, "toastPlaceholder");
            return this;
        }

        /**
         * How often to write {@code SELECT pg_logical_emit_message(false, 'deltaforge_heartbeat', '')} over a
         * separate normal connection while streaming, so that the slot can advance on a database whose WAL
         * is all filtered out; {@link Duration#ZERO} (the default) writes none. Needs a primary server and
         * EXECUTE on that function (superusers have it). Heartbeat messages never become events.
         */
        public Builder heartbeatInterval(Duration heartbeatInterval) {
            this.heartbeatInterval = Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
            return this;
        }

        /**
         * Whether to read the tables' existing rows first (see {@link SnapshotMode}; default never), and how
         * many rows one snapshot query reads (default 10000; bounds the snapshot's memory).
         */
        public Builder snapshot(SnapshotMode mode, int chunkSize) {
            this.snapshotMode = Objects.requireNonNull(mode, "mode");
            this.snapshotChunkSize = chunkSize;
            return this;
        }

        /**
         * How many chunks an incremental snapshot reads concurrently in one watermark window (each on its own
         * connection, in one shared snapshot; memory up to {@code chunks x chunk_size} rows), and how many
         * tables of a request progress at once. Defaults 1 and 1.
         */
        public Builder snapshotParallelism(int maxParallelChunks, int maxParallelTables) {
            this.snapshotMaxParallelChunks = maxParallelChunks;
            this.snapshotMaxParallelTables = maxParallelTables;
            return this;
        }

        /**
         * The schema of the source's own tables ({@code deltaforge_snapshots}, {@code deltaforge_snapshot_progress});
         * default {@code deltaforge}. Created when missing if the user may ({@code GRANT CREATE ON DATABASE}),
         * else start fails naming the grant; see docs/configuration.md for the privileges. Tables an earlier
         * version kept in {@code public} are moved here on first use; {@code public} keeps them where they are.
         */
        public Builder bookkeepingSchema(String bookkeepingSchema) {
            this.bookkeepingSchema = Objects.requireNonNull(bookkeepingSchema, "bookkeepingSchema");
            return this;
        }

        /**
         * Replication lag over which the source reports itself degraded (the pipeline is not ready, see
         * {@link io.deltaforge.api.PipelineStatus#ready()}) and logs a warning; see {@link #onLagExceeded}.
         * Lag in bytes is the server's current WAL position minus the slot's {@code confirmed_flush_lsn}; lag
         * in time is how long ago the oldest WAL the slot has not confirmed was first seen. 0 and
         * {@link Duration#ZERO} (the defaults) mean no limit.
         */
        public Builder maxLag(long maxBytes, Duration maxTime) {
            this.maxLagBytes = maxBytes;
            this.maxLagTime = Objects.requireNonNull(maxTime, "maxTime");
            return this;
        }

        /** What an exceeded {@link #maxLag} limit does; default {@link LagAction#WARN}. */
        public Builder onLagExceeded(LagAction onLagExceeded) {
            this.onLagExceeded = Objects.requireNonNull(onLagExceeded, "onLagExceeded");
            return this;
        }

        /**
         * How long the acknowledged position may stand still while the server's WAL moves on and the engine
         * reads, before the stream counts as stalled: with nothing received from the server either, the
         * session is reconnected once, and the source fails if that does not help; with events received but
         * not acknowledged, the source reports itself degraded. Default 5 minutes; {@link Duration#ZERO} turns
         * stall detection off.
         */
        public Builder stallTimeout(Duration stallTimeout) {
            this.stallTimeout = Objects.requireNonNull(stallTimeout, "stallTimeout");
            return this;
        }

        /**
         * Whether the slot is a failover slot, synchronized to standbys (PostgreSQL 17+); see
         * {@link FailoverSlot}. Default {@link FailoverSlot#AUTO}.
         */
        public Builder failoverSlot(FailoverSlot failoverSlot) {
            this.failoverSlot = Objects.requireNonNull(failoverSlot, "failoverSlot");
            return this;
        }

        /** How often the slot is read for lag, WAL status and stalls, on its own connection; default 10 s. */
        public Builder slotMonitorInterval(Duration slotMonitorInterval) {
            this.slotMonitorInterval = Objects.requireNonNull(slotMonitorInterval, "slotMonitorInterval");
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
            List<TablePattern> patterns = new ArrayList<>();
            for (int i = 0; i < tables.size(); i++) {
                try {
                    TablePattern p = TablePattern.parse(tables.get(i));
                    if (!patterns.contains(p)) {
                        patterns.add(p);
                    }
                } catch (IllegalArgumentException e) {
                    problems.add(new Problem("tables[" + i + "]", e.getMessage()));
                }
            }
            if (publicationMode == PublicationMode.AUTOCREATE && tables.isEmpty()) {
                problems.add(new Problem("publication_mode", "autocreate needs the tables to publish; list them "
                        + "in tables (e.g. [public.users]) or create the publication yourself and use existing"));
            }
            if (toastPlaceholder != null && toastPlaceholder.isEmpty()) {
                problems.add(new Problem("toast_placeholder", "is empty; use a marker no real value has, such as "
                        + "__unchanged__, or leave it unset to omit unchanged columns"));
            }
            if (heartbeatInterval.isNegative() || (!heartbeatInterval.isZero() && heartbeatInterval.toMillis() < 100)
                    || heartbeatInterval.compareTo(Duration.ofHours(24)) > 0) {
                problems.add(new Problem("heartbeat_interval_secs", heartbeatInterval
                        + " is out of range; expected 0 (off) or 1 second to 24 hours, e.g. 60 seconds"));
            }
            if (statusInterval.isNegative() || statusInterval.toMillis() < 100
                    || statusInterval.compareTo(Duration.ofHours(1)) > 0) {
                problems.add(new Problem("status_interval", statusInterval
                        + " is out of range; expected 100 ms to 1 hour, e.g. 10 seconds"));
            }
            if (snapshotChunkSize < 1 || snapshotChunkSize > 1_000_000) {
                problems.add(new Problem("snapshot.chunk_size", snapshotChunkSize
                        + " is out of range; expected 1 to 1000000, e.g. 10000"));
            }
            if (snapshotMaxParallelChunks < 1 || snapshotMaxParallelChunks > 64) {
                problems.add(new Problem("snapshot.max_parallel_chunks", snapshotMaxParallelChunks
                        + " is out of range; expected 1 to 64, e.g. 4"));
            }
            if (snapshotMaxParallelTables < 1 || snapshotMaxParallelTables > 64) {
                problems.add(new Problem("snapshot.max_parallel_tables", snapshotMaxParallelTables
                        + " is out of range; expected 1 to 64, e.g. 2"));
            }
            if (!SCHEMA_NAME.matcher(bookkeepingSchema).matches()) {
                problems.add(new Problem("bookkeeping_schema", "'" + bookkeepingSchema + "' is not a usable schema "
                        + "name; use 1 to 63 letters, digits and underscores, not starting with a digit, e.g. "
                        + SourceSettings.DEFAULT_BOOKKEEPING_SCHEMA));
            }
            if (maxLagBytes < 0) {
                problems.add(new Problem("max_lag_bytes", maxLagBytes + " is negative; expected 0 (no limit) or a "
                        + "byte count, e.g. 1073741824"));
            }
            if (maxLagTime.isNegative()) {
                problems.add(new Problem("max_lag_secs", maxLagTime + " is negative; expected 0 (no limit) or e.g. "
                        + "600 seconds"));
            }
            if (stallTimeout.isNegative() || (!stallTimeout.isZero() && stallTimeout.toMillis() < 100)) {
                problems.add(new Problem("stall_timeout_secs", stallTimeout + " is out of range; expected 0 (off) "
                        + "or at least 1 second, e.g. 300"));
            }
            if (slotMonitorInterval.toMillis() < 100 || slotMonitorInterval.compareTo(Duration.ofHours(1)) > 0) {
                problems.add(new Problem("slot_monitor_interval_secs", slotMonitorInterval + " is out of range; "
                        + "expected 1 second to 1 hour, e.g. 10"));
            }
            if (!problems.isEmpty()) {
                throw new ConfigException(problems);
            }
            MonitorSettings monitor = new MonitorSettings(slotMonitorInterval, maxLagBytes,
                    maxLagTime.isZero() ? null : maxLagTime, onLagExceeded, stallTimeout.isZero() ? null : stallTimeout);
            return new PostgresSource(new SourceSettings(id, Objects.requireNonNull(parsed), slot, publication,
                    patterns, startPosition, createSlot, statusInterval, publicationMode, messages, toastPlaceholder,
                    heartbeatInterval.isZero() ? null : heartbeatInterval, snapshotMode, snapshotChunkSize,
                    snapshotMaxParallelChunks, snapshotMaxParallelTables, bookkeepingSchema, monitor, failoverSlot));
        }
    }
}
