package io.deltaforge.postgres.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a tiny non-transactional logical decoding message every interval, over its own normal (not
 * replication) connection: {@code SELECT pg_logical_emit_message(false, 'deltaforge_heartbeat', '')}.
 *
 * <p>Why: a slot can only be confirmed up to positions the client hears about. On a database whose
 * changes are all filtered out (or that sees no writes while others on the server do), the walsender may
 * send little; the message makes WAL advance through this database's decoding, the walsender reports the
 * new position (as a keepalive, or as the message itself when messages are on), and the source turns it
 * into a {@link io.deltaforge.spi.Heartbeat} the engine acknowledges. The decoder never turns these
 * messages into events.
 *
 * <p>Failures (a standby, a missing EXECUTE privilege, a restarting server) are logged, once per streak,
 * and tried again next interval; they never stop the stream. One daemon thread per session.
 */
final class HeartbeatWriter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HeartbeatWriter.class);
    static final String SQL = "SELECT pg_logical_emit_message(false, '" + PgOutputDecoder.HEARTBEAT_PREFIX + "', '')";

    private final SourceSettings settings;
    private final Duration interval;
    private final ScheduledExecutorService executor;
    /** Used by the executor thread only, and by close() after that thread has stopped. */
    private @Nullable Connection connection;
    private boolean failing;

    private HeartbeatWriter(SourceSettings settings, Duration interval) {
        this.settings = settings;
        this.interval = interval;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "deltaforge-heartbeat-" + settings.id());
            t.setDaemon(true);
            return t;
        });
    }

    static HeartbeatWriter start(SourceSettings settings, Duration interval) {
        HeartbeatWriter w = new HeartbeatWriter(settings, interval);
        long millis = interval.toMillis();
        w.executor.scheduleWithFixedDelay(w::beat, millis, millis, TimeUnit.MILLISECONDS);
        return w;
    }

    private void beat() {
        try {
            if (connection == null || connection.isClosed()) {
                connection = Connections.admin(settings);
            }
            try (Statement st = connection.createStatement()) {
                st.setQueryTimeout((int) Math.max(5, Math.min(60, interval.toSeconds())));
                st.execute(SQL);
            }
            if (failing) {
                failing = false;
                log.info("source '{}': heartbeat writes work again", settings.id());
            }
        } catch (SQLException | RuntimeException e) {
            if (!failing) {
                failing = true;
                log.warn("source '{}': heartbeat write ({}) failed: {}; retrying every {} s. It needs a primary "
                        + "server and EXECUTE on pg_logical_emit_message (GRANT EXECUTE ON FUNCTION "
                        + "pg_logical_emit_message(boolean, text, text) TO {};)", settings.id(), SQL, e.getMessage(),
                        interval.toSeconds(), settings.dsn().user());
            }
            closeConnection();
        }
    }

    private void closeConnection() {
        Connection c = connection;
        connection = null;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException | RuntimeException e) {
                log.debug("closing the heartbeat connection failed: {}", e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                log.debug("source '{}': heartbeat thread still busy; closing its connection anyway", settings.id());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeConnection();
    }
}
