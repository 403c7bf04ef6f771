package io.deltaforge.postgres.internal;

import io.deltaforge.api.Lsn;
import io.deltaforge.postgres.LagAction;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Judges a slot from periodic samples: lag, WAL retention and stalls. Pure: the caller passes the time, so
 * that tests can drive it with a fake clock. Not thread-safe: one monitor thread feeds it.
 *
 * <p>Definitions:
 * <ul>
 *   <li><b>lag in bytes</b>: the server's current WAL position minus the slot's {@code confirmed_flush_lsn}.</li>
 *   <li><b>lag in seconds</b>: how long ago the oldest WAL the slot has not confirmed was first seen, i.e. the
 *       time since the server's WAL position was last at or behind the confirmed position; 0 when caught up.
 *       Measured at the sampling interval (it may read up to one interval low).</li>
 *   <li><b>stall</b>: the server's WAL moved past the source's acknowledged position and the acknowledged
 *       position has not moved for the stall timeout. Stage "receiving" when nothing new arrived from the
 *       server in that time either (the stream is stuck: the session is reconnected once, and if that does
 *       not help the source fails); stage "acknowledging" when events arrived but none was acknowledged (the
 *       engine is waiting for its sinks, which a source cannot tell from a sink being down and retried, so
 *       this only degrades; {@code max_lag_secs} with {@code on_lag_exceeded: stop} stops then).</li>
 * </ul>
 */
final class SlotHealth {
    /** Unconfirmed WAL positions remembered for the lag in seconds; beyond this, lag reads low. */
    private static final int MAX_PENDING = 4096;

    /**
     * One reading.
     *
     * @param nanos        monotonic time of the reading
     * @param serverLsn    the server's current WAL position
     * @param confirmed    the slot's confirmed_flush_lsn; null when the slot is missing or has none
     * @param walStatus    pg_replication_slots.wal_status; null before PostgreSQL 13 or when missing
     * @param safeWalSize  pg_replication_slots.safe_wal_size; null when unlimited or unknown
     * @param acknowledged the source's acknowledged position (0 when none yet)
     * @param received     the newest position the source received from the server; null when none
     * @param reading      whether a session is streaming and the engine is reading from it (not paused or
     *                     held back by full sinks): only then can the stream itself stall
     */
    record Sample(long nanos, long serverLsn, @Nullable Long confirmed, @Nullable String walStatus,
                  @Nullable Long safeWalSize, long acknowledged, @Nullable Long received, boolean reading) {
    }

    /**
     * What a reading means.
     *
     * @param lagBytes   see the class comment; 0 when unknown
     * @param lagSeconds see the class comment
     * @param degraded   why the source should not count as ready; null when fine
     * @param warnings   conditions that started with this reading, to log once
     * @param reconnect  whether the session should be reconnected now
     * @param fatal      why the source must stop; null when it may go on
     */
    record Verdict(long lagBytes, double lagSeconds, @Nullable String degraded, List<String> warnings,
                   boolean reconnect, @Nullable String fatal) {
    }

    private record Pending(long nanos, long lsn) {
    }

    /** A stall and its stage: {@code receiving} (nothing came from the server) or acknowledging. */
    private record Stall(boolean receiving, String text) {
    }

    private final String sourceId;
    private final String slot;
    private final MonitorSettings settings;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private long acknowledged = -1;
    private long acknowledgedSince;
    private long serverAtAcknowledged;
    private @Nullable Long received;
    private long receivedSince;
    private boolean reconnected;
    private boolean lagWarned;
    private boolean walWarned;
    private boolean stallWarned;

    SlotHealth(String sourceId, String slot, MonitorSettings settings) {
        this.sourceId = sourceId;
        this.slot = slot;
        this.settings = settings;
    }

    Verdict judge(Sample s) {
        List<String> reasons = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        String fatal = null;
        long lagBytes = 0;
        double lagSeconds = 0;
        if (s.confirmed() != null) {
            long confirmed = s.confirmed();
            lagBytes = Math.max(0, s.serverLsn() - confirmed);
            while (!pending.isEmpty() && Long.compareUnsigned(pending.peekFirst().lsn, confirmed) <= 0) {
                pending.pollFirst();
            }
            if (Long.compareUnsigned(s.serverLsn(), confirmed) > 0 && pending.size() < MAX_PENDING
                    && (pending.isEmpty() || Long.compareUnsigned(pending.peekLast().lsn, s.serverLsn()) < 0)) {
                pending.addLast(new Pending(s.nanos(), s.serverLsn()));
            }
            lagSeconds = pending.isEmpty() ? 0 : (s.nanos() - pending.peekFirst().nanos) / 1e9;
            String over = overLimit(lagBytes, lagSeconds);
            if (over != null) {
                String reason = "replication slot '" + slot + "' lags " + over;
                reasons.add(reason);
                if (settings.onLagExceeded() == LagAction.STOP) {
                    fatal = "source '" + sourceId + "': " + reason + " (on_lag_exceeded: stop); the sinks are not "
                            + "confirming fast enough or at all: check them, or raise the limit";
                } else if (!lagWarned) {
                    warnings.add(reason + "; the pipeline reports not ready until it is back under the limit");
                }
            }
            lagWarned = over != null;
        }
        if ("lost".equals(s.walStatus())) {
            fatal = "source '" + sourceId + "': replication slot '" + slot + "' has lost WAL it needs (wal_status "
                    + "lost: the server removed it, see max_slot_wal_keep_size), so changes since "
                    + (s.confirmed() == null ? "its position" : new Lsn(s.confirmed()).toString()) + " cannot be "
                    + "replayed; re-sync the consumers (e.g. with snapshot.mode: initial), drop the slot (SELECT "
                    + "pg_drop_replication_slot('" + slot + "');) and start again";
        } else if ("unreserved".equals(s.walStatus())) {
            String reason = "replication slot '" + slot + "' is unreserved: the WAL it still needs will be removed at "
                    + "the next checkpoint unless it catches up (max_slot_wal_keep_size)";
            reasons.add(reason);
            if (!walWarned) {
                warnings.add(reason);
            }
            walWarned = true;
        } else {
            walWarned = false;
        }
        boolean reconnect = false;
        Stall stall = stall(s);
        if (stall != null) {
            if (stall.receiving()) {
                if (!reconnected) {
                    reconnected = true;
                    reconnect = true;
                    acknowledgedSince = s.nanos();
                    warnings.add("source '" + sourceId + "': " + stall.text() + "; reconnecting the "
                            + "replication session once");
                } else if (fatal == null) {
                    fatal = "source '" + sourceId + "': " + stall.text() + ", also after reconnecting; check "
                            + "the server (pg_stat_replication for the walsender of slot '" + slot + "', locks, "
                            + "wal_sender_timeout) and the network";
                }
            } else {
                reasons.add(stall.text());
                if (!stallWarned) {
                    warnings.add("source '" + sourceId + "': " + stall.text());
                }
                stallWarned = true;
            }
        } else {
            stallWarned = false;
        }
        return new Verdict(lagBytes, lagSeconds, reasons.isEmpty() ? null : String.join("; ", reasons),
                List.copyOf(warnings), reconnect, fatal);
    }

    private @Nullable String overLimit(long lagBytes, double lagSeconds) {
        if (settings.maxLagBytes() > 0 && lagBytes > settings.maxLagBytes()) {
            return lagBytes + " bytes behind the server's WAL, over max_lag_bytes " + settings.maxLagBytes();
        }
        Duration maxTime = settings.maxLagTime();
        if (maxTime != null && lagSeconds * 1e9 > maxTime.toNanos()) {
            return Math.round(lagSeconds) + " s behind the server's WAL, over max_lag_secs " + maxTime.toSeconds();
        }
        return null;
    }

    private @Nullable Stall stall(Sample s) {
        Long newest = s.received();
        if (newest != null && !newest.equals(received)) {
            received = newest;
            receivedSince = s.nanos();
        }
        if (s.acknowledged() != acknowledged) {
            reconnected = false; // it moved: whatever was stuck recovered
        }
        if (s.acknowledged() != acknowledged || !s.reading()) {
            acknowledged = s.acknowledged();
            acknowledgedSince = s.nanos();
            serverAtAcknowledged = s.serverLsn();
            return null;
        }
        Duration timeout = settings.stallTimeout();
        boolean walMoved = Long.compareUnsigned(s.serverLsn(), serverAtAcknowledged) > 0
                && Long.compareUnsigned(s.serverLsn(), acknowledged) > 0;
        if (timeout == null || !walMoved || s.nanos() - acknowledgedSince < timeout.toNanos()) {
            return null;
        }
        long idleSecs = Math.round((s.nanos() - acknowledgedSince) / 1e9);
        String where = "slot '" + slot + "': the server's WAL is at " + new Lsn(s.serverLsn()) + " but nothing was "
                + "acknowledged for " + idleSecs + " s (acknowledged: " + new Lsn(acknowledged) + ")";
        if (newest == null || receivedSince <= acknowledgedSince) {
            return new Stall(true, where + " and no data was received from the server in that time (received up to "
                    + (newest == null ? "nothing" : new Lsn(newest).toString()) + "): the replication stream is stuck");
        }
        return new Stall(false, where + " although events were received up to " + new Lsn(newest) + ": the sinks "
                + "have not confirmed them");
    }
}
