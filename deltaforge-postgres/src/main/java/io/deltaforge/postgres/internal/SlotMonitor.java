package io.deltaforge.postgres.internal;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.RetryableException;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches a source's slot on its own daemon thread and its own ordinary connection (never the replication
 * connection's thread): every {@link MonitorSettings#interval()} it reads the server's WAL position and the
 * slot's {@code confirmed_flush_lsn}, {@code wal_status} and {@code safe_wal_size}, and lets
 * {@link SlotHealth} judge them. Publishes {@code deltaforge.slot.lag.bytes}, {@code deltaforge.slot.lag.seconds},
 * {@code deltaforge.slot.safe.wal.bytes}, {@code deltaforge.slot.wal.status} and
 * {@code deltaforge.slot.stall.reconnects}; answers {@link #degraded()}; and hands a reconnect request or a
 * fatal error to the reader thread through {@link #check()}.
 *
 * <p>Thread-safe: {@code start}, {@code stop} and {@code check} run on the reader thread, the rest anywhere.
 * A fatal error stays: the source fails on every later {@code check}.
 */
public final class SlotMonitor {
    private static final Logger log = LoggerFactory.getLogger(SlotMonitor.class);
    private static final Map<String, Integer> WAL_STATUS = Map.of("reserved", 0, "extended", 1, "unreserved", 2,
            "lost", 3);

    private final SourceSettings settings;
    private final AtomicLong acknowledged;
    private final Supplier<@Nullable Lsn> received;
    private final SlotHealth health;
    private final AtomicBoolean reconnect = new AtomicBoolean();
    private final AtomicLong reconnects = new AtomicLong();
    /** The reader's polls, counted: a clock read and a fenced write on every poll cost the reader more. */
    private final AtomicLong polls = new AtomicLong();
    /**
     * The monitor thread's own: the poll count at its last sample (0 until the reader first polled), and when it
     * last saw the count change.
     */
    private long pollsSeen;
    private long pollsChangedNanos;
    private volatile boolean streaming;
    private volatile @Nullable String degraded;
    private volatile @Nullable String fatal;
    private volatile double lagBytes = Double.NaN;
    private volatile double lagSeconds = Double.NaN;
    private volatile double safeWalBytes = Double.NaN;
    private volatile double walStatus = Double.NaN;
    private @Nullable ScheduledExecutorService executor;
    /** Used by the monitor thread only. */
    private @Nullable Connection connection;

    /**
     * @param acknowledged the source's acknowledged position
     * @param received     the newest position the source received from the server; null when not streaming
     */
    public SlotMonitor(SourceSettings settings, AtomicLong acknowledged, Supplier<@Nullable Lsn> received) {
        this.settings = settings;
        this.acknowledged = acknowledged;
        this.received = received;
        this.health = new SlotHealth(settings.id(), settings.slot(), settings.monitor());
    }

    /** Starts sampling (idempotent); {@code streaming} says whether a replication session is open. */
    public synchronized void start(boolean streaming) {
        this.streaming = streaming;
        if (executor != null) {
            return;
        }
        ScheduledExecutorService e = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "deltaforge-" + settings.id() + "-slot-monitor");
            t.setDaemon(true);
            return t;
        });
        long millis = settings.monitor().interval().toMillis();
        e.scheduleWithFixedDelay(this::sample, millis, millis, TimeUnit.MILLISECONDS);
        executor = e;
    }

    /** Stops sampling and closes the connection; the judgement so far is kept for the next start. */
    public synchronized void stop() {
        ScheduledExecutorService e = executor;
        executor = null;
        streaming = false;
        if (e == null) {
            return;
        }
        e.shutdownNow();
        try {
            if (!e.awaitTermination(5, TimeUnit.SECONDS)) {
                log.warn("source '{}': the slot monitor did not stop within 5 s", settings.id());
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
        closeConnection();
    }

    /** Called by the reader on every poll: a reader that stops polling (paused, back-pressured) is not stalled. */
    public void reading() {
        // One writer (the reader thread): an ordered store suffices, and costs no fence.
        polls.lazySet(polls.get() + 1);
    }

    /**
     * Throws what the monitor decided: a fatal {@link DeltaforgeException}, or once a
     * {@link RetryableException} so that the engine reconnects a stalled session.
     */
    public void check() {
        String f = fatal;
        if (f != null) {
            throw new DeltaforgeException(f);
        }
        if (reconnect.getAndSet(false)) {
            throw new RetryableException("source '" + settings.id() + "': replication session of slot '"
                    + settings.slot() + "' stalled; reconnecting");
        }
    }

    /** Why the source should not count as ready; null when fine. */
    public @Nullable String degraded() {
        return degraded;
    }

    /** Publishes the gauges; NaN until the first sample. */
    public void bind(MeterRegistry registry, Tags tags) {
        Tags t = tags.and("slot", settings.slot());
        Gauge.builder("deltaforge.slot.lag.bytes", this, m -> m.lagBytes).tags(t).baseUnit("bytes")
                .description("server's current WAL position minus the slot's confirmed_flush_lsn").register(registry);
        Gauge.builder("deltaforge.slot.lag.seconds", this, m -> m.lagSeconds).tags(t).baseUnit("seconds")
                .description("time since the server's WAL was last at or behind the slot's confirmed position")
                .register(registry);
        Gauge.builder("deltaforge.slot.safe.wal.bytes", this, m -> m.safeWalBytes).tags(t).baseUnit("bytes")
                .description("WAL that can still be written before the slot loses WAL (safe_wal_size); NaN when "
                        + "unlimited").register(registry);
        Gauge.builder("deltaforge.slot.wal.status", this, m -> m.walStatus).tags(t)
                .description("wal_status: 0 reserved, 1 extended, 2 unreserved, 3 lost").register(registry);
        Gauge.builder("deltaforge.slot.stall.reconnects", reconnects, AtomicLong::get).tags(t)
                .description("replication sessions reconnected because they stalled").register(registry);
    }

    private void sample() {
        try {
            Connection c = connection;
            if (c == null || c.isClosed()) {
                c = Connections.admin(settings);
                connection = c;
            }
            long now = System.nanoTime();
            Duration quiet = settings.monitor().interval().multipliedBy(2).plusSeconds(5);
            long p = polls.get();
            if (p != pollsSeen) {
                pollsSeen = p;
                pollsChangedNanos = now;
            }
            // A reader that polled since the previous sample counts as reading from then: one interval later
            // than the poll itself at most, against a quiet limit of two intervals and five seconds.
            boolean read = streaming && pollsSeen > 0 && now - pollsChangedNanos < quiet.toNanos();
            Lsn newest = received.get();
            SlotHealth.Sample s = query(c, now, read, newest == null ? null : newest.value());
            SlotHealth.Verdict v;
            synchronized (health) {
                v = health.judge(s);
            }
            lagBytes = s.confirmed() == null ? Double.NaN : v.lagBytes();
            lagSeconds = s.confirmed() == null ? Double.NaN : v.lagSeconds();
            safeWalBytes = s.safeWalSize() == null ? Double.NaN : s.safeWalSize();
            Integer status = s.walStatus() == null ? null : WAL_STATUS.get(s.walStatus());
            walStatus = status == null ? Double.NaN : status;
            v.warnings().forEach(w -> log.warn("{}", w));
            if (degraded != null && v.degraded() == null) {
                log.info("source '{}': slot '{}' is healthy again", settings.id(), settings.slot());
            }
            degraded = v.degraded();
            if (v.reconnect()) {
                reconnects.incrementAndGet();
                reconnect.set(true);
            }
            if (v.fatal() != null && fatal == null) {
                log.error("{}", v.fatal());
                fatal = v.fatal();
            }
        } catch (SQLException e) {
            log.debug("source '{}': slot monitor cannot read the server: {}", settings.id(), e.getMessage());
            closeConnection();
        } catch (RuntimeException e) {
            log.warn("source '{}': slot monitor failed: {}", settings.id(), e.toString());
        }
    }

    private SlotHealth.Sample query(Connection c, long now, boolean read, @Nullable Long newest) throws SQLException {
        boolean walColumns = c.getMetaData().getDatabaseMajorVersion() >= 13;
        String sql = "SELECT w.lsn::text, s.confirmed_flush_lsn::text, "
                + (walColumns ? "s.wal_status, s.safe_wal_size" : "NULL, NULL::bigint")
                + " FROM (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE "
                + "pg_current_wal_lsn() END AS lsn) w LEFT JOIN pg_replication_slots s ON s.slot_name = ?";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, settings.slot());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                String confirmed = rs.getString(2);
                long safe = rs.getLong(4);
                Long safeWalSize = rs.wasNull() ? null : safe;
                return new SlotHealth.Sample(now, Lsn.parse(rs.getString(1)).value(),
                        confirmed == null ? null : Lsn.parse(confirmed).value(), rs.getString(3), safeWalSize,
                        acknowledged.get(), newest, read);
            }
        }
    }

    private void closeConnection() {
        Connection c = connection;
        connection = null;
        Connections.closeQuietly(c);
    }
}
