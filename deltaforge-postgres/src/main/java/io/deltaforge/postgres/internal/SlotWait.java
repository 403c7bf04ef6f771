package io.deltaforge.postgres.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standby side of one slot shared by several runners: while another connection streams from the slot,
 * the source waits here instead of failing its start, asking the server now and then who holds it, so that
 * it takes over within a check interval once the holder's walsender ends (at once when the holder's
 * process dies, since its socket closes; after {@code wal_sender_timeout} when its host vanishes).
 *
 * <p>The wait never blocks: {@link #stillHeld} sleeps at most the caller's poll timeout, so stopping a
 * waiting pipeline is as quick as stopping a streaming one. Used from the reader thread only.
 */
public final class SlotWait implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SlotWait.class);
    private static final Duration FIRST_CHECK = Duration.ofMillis(100);
    /** The longest time between two checks: bounds what the wait adds to a takeover. */
    private static final Duration MAX_CHECK = Duration.ofMillis(500);

    private final SourceSettings settings;
    private final long since = System.nanoTime();
    private @Nullable Connection connection;
    private int holder;
    private Duration interval = FIRST_CHECK;
    private long nextCheck;

    private SlotWait(SourceSettings settings, Connection connection, int holder) {
        this.settings = settings;
        this.connection = connection;
        this.holder = holder;
        this.nextCheck = System.nanoTime() + interval.toNanos();
    }

    /**
     * A wait for the slot when another connection holds it right now; null when it is free or missing (the
     * normal start then takes it, or creates it).
     *
     * @throws io.deltaforge.api.DeltaforgeException as the connection's failure classifies (retryable when the
     *                                               server is unreachable)
     */
    public static @Nullable SlotWait ifHeld(SourceSettings s) {
        Connection c = null;
        try {
            c = Connections.admin(s);
            int pid = holder(s, c);
            if (pid == 0) {
                Connections.closeQuietly(c);
                return null;
            }
            SlotWait wait = new SlotWait(s, c, pid);
            log.info("source '{}': {}", s.id(), wait.reason());
            return wait;
        } catch (SQLException e) {
            Connections.closeQuietly(c);
            throw SqlStates.classify(s, "checking who holds replication slot '" + s.slot() + "'", e);
        }
    }

    /**
     * Whether another connection still holds the slot. Asks the server at most once per check interval (100 ms,
     * growing to 500 ms), sleeping until the next check or {@code timeout}, whichever comes first.
     *
     * @throws io.deltaforge.api.DeltaforgeException when the server cannot be asked (retryable when unreachable)
     */
    public boolean stillHeld(Duration timeout) throws InterruptedException {
        long now = System.nanoTime();
        if (now - nextCheck < 0) {
            Thread.sleep(Math.max(1, Math.min(timeout.toMillis(), (nextCheck - now) / 1_000_000)));
            if (System.nanoTime() - nextCheck < 0) {
                return true;
            }
        }
        int pid;
        try {
            pid = holder(settings, open());
        } catch (SQLException e) {
            close();
            throw SqlStates.classify(settings, "checking who holds replication slot '" + settings.slot() + "'", e);
        }
        if (pid == 0) {
            log.info("source '{}': slot {} released by pid {} after {} s of waiting; taking over", settings.id(),
                    settings.slot(), holder, Duration.ofNanos(System.nanoTime() - since).toSeconds());
            close();
            return false;
        }
        if (pid != holder) {
            log.info("source '{}': waiting for slot {} held by pid {} (another reader took it first)", settings.id(),
                    settings.slot(), pid);
            holder = pid;
        }
        Duration doubled = interval.multipliedBy(2);
        interval = doubled.compareTo(MAX_CHECK) > 0 ? MAX_CHECK : doubled;
        nextCheck = System.nanoTime() + interval.toNanos();
        return true;
    }

    /** Why the source is not ready: for {@code degraded()}. */
    public String reason() {
        return "waiting for slot " + settings.slot() + " held by pid " + holder
                + " (another reader, e.g. the active runner); this source takes over when it lets go";
    }

    @Override
    public void close() {
        Connections.closeQuietly(connection);
        connection = null;
    }

    private Connection open() throws SQLException {
        Connection c = connection;
        if (c == null || c.isClosed()) {
            c = Connections.admin(settings);
            connection = c;
        }
        return c;
    }

    /** The server process streaming from the slot; 0 when none does (or the slot does not exist). */
    private static int holder(SourceSettings s, Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT active_pid FROM pg_replication_slots WHERE slot_name = ? AND active")) {
            ps.setString(1, s.slot());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getInt(1) : 0;
            }
        }
    }
}
