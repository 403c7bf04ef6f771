package io.deltaforge.postgres.internal;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.RetryableException;
import io.deltaforge.spi.Heartbeat;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connected replication stream: has the server checked ({@link ServerChecks}) and the slot made ready
 * ({@link Slots}), streams from the slot's confirmed position, decodes what arrives, merges incremental
 * snapshot chunks into it ({@link IncrementalSnapshots}) and reports the acknowledged position back. A new
 * session is opened on every {@code Source.start()}; a broken one is thrown away.
 *
 * <p>The slot moves only through the {@code acknowledged} value the source shares with it: the reader
 * thread copies it into the stream before each read and on close. Not thread-safe otherwise: every method
 * runs on the reader thread.
 */
public final class ReplicationSession implements AutoCloseable {
    /** The newest server position seen (messages and keep-alives), read by other threads for lag metrics. */
    private volatile @Nullable Lsn newest;

    private static final Logger log = LoggerFactory.getLogger(ReplicationSession.class);
    private static final long MAX_IDLE_SLEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /**
     * Acknowledgements reach the server at most this often (one status update each), instead of once per
     * batch under load; an advance in between goes with the first poll after the gap. Soon enough that a crash
     * replays little, and a server shutting down, which waits for the client to confirm, is not held up.
     */
    private static final long REPORT_GAP_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /**
     * How long the stream may stay silent before a status update probes it. pgjdbc's readPending() reports an
     * ended connection as "nothing pending", so a server that shut down or restarted shows only when we write:
     * without the probe, not until the next periodic status update (status_interval_secs), which a soak with
     * PostgreSQL restarts measured as 10-20 s of standstill. A probe is one small message a second while idle.
     */
    private static final long SILENCE_PROBE_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int MESSAGES_PER_CLOCK_READ = 64;

    private final SourceSettings settings;
    private final AtomicLong acknowledged;
    private final Connection connection;
    private final PGReplicationStream stream;
    private final PgOutputDecoder decoder;
    private final IncrementalSnapshots snapshots;
    private final @Nullable HeartbeatWriter heartbeatWriter;
    private final TypeCatalog catalog;
    /** The flush position last reported to the server; never lower than the slot's confirmed position. */
    private long reported;
    /** The last position handed over as a boundary (commit end or heartbeat). */
    private long lastBoundary;
    private boolean warnedAboutDriverFlush;
    /** {@link #reported} moved since the last status update this session forced. */
    private boolean reportPending;
    private long lastReportNanos = System.nanoTime() - REPORT_GAP_NANOS;
    /**
     * Messages read since {@link #applyAcknowledged} last read the clock. While messages keep coming it reads
     * it only every {@link #MESSAGES_PER_CLOCK_READ} of them: a clock read per message was a visible share of the
     * reader's work, and the report gap is far longer than that many messages take.
     */
    private int messagesSinceClockRead = MESSAGES_PER_CLOCK_READ;
    private long lastHeardOrProbed = System.nanoTime();
    /** A message came since {@link #probeIfSilent} last ran: the silence starts at its next run. */
    private boolean heard;
    private boolean closed;

    private ReplicationSession(SourceSettings settings, AtomicLong acknowledged, Connection connection,
                               PGReplicationStream stream, long startLsn, AtomicBoolean snapshotRequested,
                               SnapshotMetrics metrics) {
        this.settings = settings;
        this.acknowledged = acknowledged;
        this.connection = connection;
        this.stream = stream;
        // One mapper for streamed and snapshot values, so that a value looks the same either way.
        this.catalog = TypeCatalog.keepingConnection(() -> Connections.admin(settings));
        TypeMapper types = new TypeMapper(catalog);
        this.snapshots = new IncrementalSnapshots(settings, acknowledged, snapshotRequested, metrics, types);
        this.decoder = new PgOutputDecoder(settings.id(), settings.dsn().database(), settings.tableFilter(), types,
                settings.messages(), settings.toastPlaceholder(), Clock.systemUTC(), snapshots::control);
        this.reported = startLsn;
        this.lastBoundary = startLsn;
        this.heartbeatWriter = settings.heartbeatInterval() == null ? null
                : HeartbeatWriter.start(settings, settings.heartbeatInterval());
    }

    /**
     * Checks the server and starts streaming.
     *
     * @param acknowledged       the source's acknowledged position (0 when none yet); read, never written here
     * @param applyStartPosition whether to apply {@link SourceSettings#startPosition()} (the first start of a
     *                           source) or just resume from the slot (a restart after a failure)
     * @param snapshotRequested  set by whoever stored a new incremental snapshot request; the session reloads
     *                           the requests when it is set
     * @param metrics            where snapshot progress is published
     * @param cluster            the cluster of the source's earlier sessions; a session on another cluster is
     *                           refused, one on a new timeline (a promoted standby) checks the slot came along
     * @throws RetryableException  when the server is unreachable or the slot is in use
     * @throws DeltaforgeException when the setup is wrong (wal_level, privileges, publication, slot, start
     *                             position) or the server is another cluster; the message says how to fix it
     */
    public static ReplicationSession open(SourceSettings settings, AtomicLong acknowledged,
                                          boolean applyStartPosition, AtomicBoolean snapshotRequested,
                                          SnapshotMetrics metrics, ClusterIdentity cluster) {
        Connection replication = null;
        try {
            long confirmed;
            try (Connection admin = Connections.admin(settings)) {
                // wal_level and the privilege explain a refused replication connection better than its error.
                ServerChecks.checkRole(settings, admin);
                // Then the cluster, before anything here is changed or the slot is looked at.
                replication = Connections.replication(settings);
                boolean failedOver = cluster.verify(settings, replication);
                ServerChecks.beforeStart(settings, admin).forEach(log::warn);
                Bookkeeping.adoptLegacy(settings, admin);
                confirmed = Slots.prepare(settings, admin, applyStartPosition, failedOver, acknowledged.get());
                Slots.alignFailover(settings, admin, replication);
            } catch (SQLException e) {
                throw SqlStates.classify(settings, "cannot check the server", e);
            }
            // Resume after whatever this process already acknowledged, in case the last status update of a
            // previous session did not reach the server; never before the slot's position.
            long start = maxUnsigned(confirmed, acknowledged.get());
            PGReplicationStream stream = replication.unwrap(PGConnection.class).getReplicationAPI()
                    .replicationStream()
                    .logical()
                    .withSlotName(settings.slot())
                    .withSlotOption("proto_version", "1")
                    .withSlotOption("publication_names", Sql.quoteIdentifier(settings.publication()))
                    // Always on: watermarks and signals arrive as messages; user messages become events only
                    // when settings.messages() is on (the decoder drops them otherwise).
                    .withSlotOption("messages", "true")
                    .withStartPosition(LogSequenceNumber.valueOf(start))
                    .withStatusInterval((int) Math.min(Integer.MAX_VALUE, settings.statusInterval().toMillis()),
                            TimeUnit.MILLISECONDS)
                    // pgjdbc (since 42.7.0, switchable since 42.7.6, on by default) copies the server's
                    // keepalive LSN into its flushed LSN whenever the last status update covered the start
                    // of the last message received, and reports it with the next status update. That moves
                    // the slot on the driver's guess, from message-start heuristics, not on the engine's
                    // word that the sinks have everything. The slot has one writer, acknowledge(); idle WAL
                    // is released through Heartbeat records instead, after the engine confirms them.
                    .withAutomaticFlush(false)
                    .start();
            // Report the slot's own position, not 0/0, until something newer is acknowledged: some server
            // versions take a reported flush position as-is, even a lower one.
            LogSequenceNumber startLsn = LogSequenceNumber.valueOf(start);
            stream.setFlushedLSN(startLsn);
            stream.setAppliedLSN(startLsn);
            log.info("source '{}': streaming slot '{}' of {} from {} (publication '{}', server {})", settings.id(),
                    settings.slot(), settings.dsn().describe(), new Lsn(start), settings.publication(),
                    ClusterIdentity.server(replication));
            return new ReplicationSession(settings, acknowledged, replication, stream, start, snapshotRequested,
                    metrics);
        } catch (SQLException e) {
            Connections.closeQuietly(replication);
            throw SqlStates.classify(settings, "cannot start replication from slot '" + settings.slot() + "'", e);
        } catch (RuntimeException e) {
            Connections.closeQuietly(replication);
            throw e;
        }
    }

    /**
     * The next record, waiting up to {@code timeout}; null when none arrived.
     *
     * @throws RetryableException when the connection broke
     */
    public @Nullable SourceRecord poll(Duration timeout) throws InterruptedException {
        long timeoutNanos = Math.max(0, timeout.toNanos());
        // The clock is read once this call first has to skip a message or wait, not for every message.
        long deadline = 0;
        boolean timed = false;
        long sleepNanos = TimeUnit.MILLISECONDS.toNanos(1);
        try {
            while (true) {
                SourceRecord made = snapshots.next();
                if (made != null) {
                    SourceRecord out = boundary(made);
                    if (out != null) {
                        return out;
                    }
                    continue;
                }
                SourceRecord queued = decoder.next();
                if (queued != null) {
                    SourceRecord out = observed(queued);
                    if (out != null) {
                        return out;
                    }
                    continue;
                }
                applyAcknowledged();
                try {
                    snapshots.tick();
                } catch (SQLException e) {
                    throw SqlStates.classify(settings, "incremental snapshot on slot '" + settings.slot() + "' failed",
                            e);
                }
                // readPending, not read(): read() blocks with the socket timeout as its wake-up, which
                // pgjdbc 42.7.11-42.7.13 turned into a dead COPY on an idle slot (pgjdbc issue 4328).
                ByteBuffer message = stream.readPending();
                if (message == null) {
                    probeIfSilent();
                } else {
                    heard = true;
                    if (messagesSinceClockRead < MESSAGES_PER_CLOCK_READ) {
                        messagesSinceClockRead++;
                    }
                    Lsn messageLsn = new Lsn(stream.getLastReceiveLSN().asLong());
                    newest = messageLsn;
                    SourceRecord record = decoder.decode(message, messageLsn);
                    if (record != null) {
                        record = observed(record);
                    }
                    if (record != null) {
                        return record;
                    }
                    if (!timed) {
                        deadline = System.nanoTime() + timeoutNanos;
                        timed = true;
                    } else if (System.nanoTime() - deadline >= 0) {
                        return null; // a long filtered transaction: give the caller its turn
                    }
                    continue;
                }
                Heartbeat heartbeat = heartbeat();
                if (heartbeat != null) {
                    return heartbeat;
                }
                long now = System.nanoTime();
                if (!timed) {
                    deadline = now + timeoutNanos;
                    timed = true;
                }
                long left = deadline - now;
                if (left <= 0) {
                    return null;
                }
                TimeUnit.NANOSECONDS.sleep(Math.min(sleepNanos, left));
                sleepNanos = Math.min(sleepNanos * 2, MAX_IDLE_SLEEP_NANOS);
            }
        } catch (SQLException e) {
            throw SqlStates.classify(settings, "replication stream of slot '" + settings.slot() + "' broke", e);
        }
    }

    /** Lets the incremental snapshot see the record (it may replace a commit by its chunk), then boundary(). */
    private @Nullable SourceRecord observed(SourceRecord record) {
        SourceRecord out;
        try {
            out = snapshots.observe(record);
        } catch (SQLException e) {
            throw SqlStates.classify(settings, "incremental snapshot on slot '" + settings.slot() + "' failed", e);
        }
        return out == null ? null : boundary(out);
    }

    /** Tracks transaction boundaries; drops a heartbeat message that is not past the last boundary. */
    private @Nullable SourceRecord boundary(SourceRecord record) {
        if (record instanceof TransactionCommit commit) {
            lastBoundary = maxUnsigned(lastBoundary, commit.endLsn().value());
        } else if (record instanceof Heartbeat hb) {
            if (Long.compareUnsigned(hb.lsn().value(), lastBoundary) <= 0) {
                return null;
            }
            lastBoundary = hb.lsn().value();
        }
        return record;
    }

    /** The newest server position this session has seen; null before the first message. Thread-safe. */
    public @Nullable Lsn newestPosition() {
        return newest;
    }

    /**
     * A heartbeat when the server's keepalive position moved past the last boundary while no transaction
     * is open.
     *
     * <p>Why that is safe: with nothing unread, the last receive LSN is the keepalive's WAL position, which
     * the walsender fills with how far it has decoded (its sentPtr, or the end of a transaction it skipped
     * as empty). Every transaction that committed before that point was written to the connection before
     * the keepalive, and we have read the connection in order, so all of them are already handed over.
     * A transaction still open at that point commits later; the server decodes it again after a restart
     * (the slot's restart_lsn stays behind it) and does not skip it, since it skips only commits before
     * the confirmed position. Acknowledging the heartbeat therefore loses nothing and lets an idle or
     * fully filtered source release WAL.
     */
    private @Nullable Heartbeat heartbeat() {
        if (decoder.inTransaction()) {
            return null;
        }
        long received = stream.getLastReceiveLSN().asLong();
        newest = new Lsn(received);
        if (Long.compareUnsigned(received, lastBoundary) <= 0) {
            return null;
        }
        lastBoundary = received;
        return new Heartbeat(new Lsn(received));
    }

    /** Writes a status update after a second without a message, so that a closed connection surfaces. */
    private void probeIfSilent() throws SQLException {
        messagesSinceClockRead = MESSAGES_PER_CLOCK_READ;
        long now = System.nanoTime();
        if (heard) {
            heard = false;
            lastHeardOrProbed = now;
        } else if (now - lastHeardOrProbed >= SILENCE_PROBE_NANOS) {
            lastHeardOrProbed = now;
            stream.forceUpdateStatus();
        }
    }

    /**
     * Copies the acknowledged position into the stream and reports it soon after it moved: at once, or when
     * {@link #REPORT_GAP_NANOS} has passed since the last report (seen within {@link #MESSAGES_PER_CLOCK_READ}
     * messages while they keep coming); not only every status interval.
     */
    private void applyAcknowledged() throws SQLException {
        long ack = acknowledged.get();
        boolean moved = Long.compareUnsigned(ack, reported) > 0;
        if (moved) {
            reported = ack;
        }
        if (stream.getLastFlushedLSN().asLong() != reported) {
            LogSequenceNumber lsn = LogSequenceNumber.valueOf(reported);
            // Nothing but this method should change it (automatic flush is off). If a driver version moves
            // it anyway, put it back before the next status update can carry it to the server.
            if (!moved && !warnedAboutDriverFlush) {
                warnedAboutDriverFlush = true;
                log.warn("source '{}': the driver changed the flushed LSN to {} on its own; resetting it to {}",
                        settings.id(), stream.getLastFlushedLSN(), lsn);
            }
            stream.setFlushedLSN(lsn);
            stream.setAppliedLSN(lsn);
        }
        reportPending |= moved;
        if (reportPending && messagesSinceClockRead >= MESSAGES_PER_CLOCK_READ) {
            messagesSinceClockRead = 0;
            long now = System.nanoTime();
            if (now - lastReportNanos >= REPORT_GAP_NANOS) {
                stream.forceUpdateStatus();
                reportPending = false;
                lastReportNanos = now;
            }
        }
    }

    /** Reports the last acknowledged position, then stops the stream and disconnects. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        snapshots.close();
        catalog.close();
        if (heartbeatWriter != null) {
            heartbeatWriter.close();
        }
        try {
            if (!stream.isClosed()) {
                long ack = acknowledged.get();
                if (Long.compareUnsigned(ack, reported) > 0) {
                    reported = ack;
                }
                LogSequenceNumber lsn = LogSequenceNumber.valueOf(reported);
                stream.setFlushedLSN(lsn);
                stream.setAppliedLSN(lsn);
                stream.forceUpdateStatus();
                stream.close();
            }
        } catch (SQLException | RuntimeException e) {
            log.debug("source '{}': closing the replication stream failed: {}", settings.id(), e.getMessage());
        } finally {
            Connections.closeQuietly(connection);
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------

    private static long maxUnsigned(long a, long b) {
        return Long.compareUnsigned(a, b) >= 0 ? a : b;
    }

}
