package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.postgres.LagAction;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SlotHealthTest {
    private static final long SEC = 1_000_000_000L;

    private static SlotHealth health(long maxBytes, Duration maxTime, LagAction action, Duration stall) {
        return new SlotHealth("src", "slot1", new MonitorSettings(Duration.ofSeconds(10), maxBytes, maxTime, action,
                stall));
    }

    private static SlotHealth.Sample at(long secs, long server, long confirmed, long acknowledged, Long received) {
        return new SlotHealth.Sample(secs * SEC, server, confirmed, "reserved", null, acknowledged, received, true);
    }

    @Test
    void lagInSecondsCountsFromWhenTheServerFirstPassedTheConfirmedPosition() {
        SlotHealth h = health(0, null, LagAction.WARN, null);
        assertThat(h.judge(at(0, 100, 100, 100, 100L)).lagSeconds()).isZero();
        SlotHealth.Verdict first = h.judge(at(10, 200, 100, 100, 200L));
        assertThat(first.lagBytes()).isEqualTo(100);
        assertThat(first.lagSeconds()).isZero();
        assertThat(h.judge(at(20, 300, 150, 150, 300L)).lagSeconds()).isEqualTo(10.0);
        // Confirmed past the WAL first seen at 10 s: the oldest unconfirmed WAL was first seen at 20 s.
        assertThat(h.judge(at(25, 300, 250, 250, 300L)).lagSeconds()).isEqualTo(5.0);
        SlotHealth.Verdict caughtUp = h.judge(at(30, 300, 300, 300, 300L));
        assertThat(caughtUp.lagSeconds()).isZero();
        assertThat(caughtUp.lagBytes()).isZero();
    }

    @Test
    void lagOverALimitDegradesAndWarnsOnceUntilItIsBackUnder() {
        SlotHealth h = health(1000, Duration.ofSeconds(60), LagAction.WARN, null);
        SlotHealth.Verdict over = h.judge(at(0, 5000, 1000, 1000, 5000L));
        assertThat(over.degraded()).contains("replication slot 'slot1' lags 4000 bytes", "max_lag_bytes 1000");
        assertThat(over.warnings()).hasSize(1);
        assertThat(over.fatal()).isNull();
        assertThat(h.judge(at(10, 5000, 1000, 1000, 5000L)).warnings()).isEmpty();
        assertThat(h.judge(at(20, 5000, 4500, 4500, 5000L)).degraded()).isNull();
        // Time limit: the WAL up to 5000, first seen at 0 s, is still not all confirmed 81 s later.
        assertThat(h.judge(at(81, 5100, 4500, 4500, 5100L)).degraded()).contains("81 s", "max_lag_secs 60");
    }

    @Test
    void lagOverALimitWithStopIsFatal() {
        SlotHealth h = health(1000, null, LagAction.STOP, null);
        assertThat(h.judge(at(0, 5000, 1000, 1000, 5000L)).fatal())
                .contains("source 'src': replication slot 'slot1' lags 4000 bytes", "on_lag_exceeded: stop");
    }

    @Test
    void aStreamThatReceivesNothingIsReconnectedOnceThenFails() {
        SlotHealth h = health(0, null, LagAction.WARN, Duration.ofSeconds(60));
        h.judge(at(0, 100, 100, 100, 100L));
        assertThat(h.judge(at(30, 500, 100, 100, 100L)).reconnect()).isFalse();
        SlotHealth.Verdict stalled = h.judge(at(61, 900, 100, 100, 100L));
        assertThat(stalled.reconnect()).isTrue();
        assertThat(stalled.warnings()).singleElement().asString().contains("no data was received from the server",
                "reconnecting");
        assertThat(h.judge(at(100, 900, 100, 100, 100L)).fatal()).isNull();
        SlotHealth.Verdict failed = h.judge(at(122, 1000, 100, 100, 100L));
        assertThat(failed.reconnect()).isFalse();
        assertThat(failed.fatal()).contains("slot 'slot1'", "no data was received", "also after reconnecting");
    }

    @Test
    void aStreamThatRecoversAfterTheReconnectMayBeReconnectedAgainLater() {
        SlotHealth h = health(0, null, LagAction.WARN, Duration.ofSeconds(60));
        h.judge(at(0, 100, 100, 100, 100L));
        assertThat(h.judge(at(61, 900, 100, 100, 100L)).reconnect()).isTrue();
        h.judge(at(70, 900, 900, 900, 900L)); // moved again
        h.judge(at(80, 1000, 900, 900, 900L));
        SlotHealth.Verdict again = h.judge(at(141, 1200, 900, 900, 900L));
        assertThat(again.reconnect()).isTrue();
        assertThat(again.fatal()).isNull();
    }

    @Test
    void eventsReceivedButNotAcknowledgedOnlyDegradeNamingTheSinks() {
        SlotHealth h = health(0, null, LagAction.WARN, Duration.ofSeconds(60));
        h.judge(at(0, 100, 100, 100, 100L));
        h.judge(at(30, 500, 100, 100, 500L));
        SlotHealth.Verdict v = h.judge(at(61, 900, 100, 100, 900L));
        assertThat(v.reconnect()).isFalse();
        assertThat(v.fatal()).isNull();
        assertThat(v.degraded()).contains("events were received up to", "the sinks have not confirmed them");
    }

    @Test
    void aPausedOrBackPressuredReaderIsNotStalled() {
        SlotHealth h = health(0, null, LagAction.WARN, Duration.ofSeconds(60));
        h.judge(at(0, 100, 100, 100, 100L));
        for (long t = 10; t < 300; t += 10) {
            SlotHealth.Verdict v = h.judge(new SlotHealth.Sample(t * SEC, 100 + t, 100L, "reserved", null, 100, 100L,
                    false));
            assertThat(v.reconnect()).isFalse();
            assertThat(v.degraded()).isNull();
        }
    }

    @Test
    void lostWalIsFatalAndUnreservedDegrades() {
        SlotHealth h = health(0, null, LagAction.WARN, null);
        SlotHealth.Verdict unreserved = h.judge(new SlotHealth.Sample(0, 500, 100L, "unreserved", -10L, 100, 500L,
                true));
        assertThat(unreserved.degraded()).contains("slot 'slot1' is unreserved");
        assertThat(unreserved.fatal()).isNull();
        SlotHealth.Verdict lost = h.judge(new SlotHealth.Sample(SEC, 500, 100L, "lost", null, 100, 500L, true));
        assertThat(lost.fatal()).contains("'slot1' has lost WAL", "pg_drop_replication_slot('slot1')");
    }
}
