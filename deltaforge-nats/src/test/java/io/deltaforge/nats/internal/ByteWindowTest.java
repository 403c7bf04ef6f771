package io.deltaforge.nats.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ByteWindowTest {
    private final ByteWindow window = new ByteWindow(100);

    @Test
    void takesBytesAtOnceWhileTheyFit() {
        assertThat(window.tryAcquireNow(60)).isTrue();
        assertThat(window.tryAcquireNow(40)).isTrue();
        assertThat(window.inFlight()).isEqualTo(100);
    }

    @Test
    void refusesAtOnceWhatWouldOverflowAndTakesNothingThen() {
        assertThat(window.tryAcquireNow(60)).isTrue();
        assertThat(window.tryAcquireNow(41)).isFalse();
        assertThat(window.inFlight()).isEqualTo(60);
        window.release(60);
        assertThat(window.tryAcquireNow(41)).isTrue();
    }

    @Test
    void letsAMessageLargerThanTheWindowGoWhenNothingIsInFlight() throws InterruptedException {
        assertThat(window.tryAcquireNow(500)).isTrue();
        window.release(500);
        assertThat(window.tryAcquire(500, System.nanoTime())).isTrue();
    }

    @Test
    void aWaitGivesUpAtItsDeadline() throws InterruptedException {
        assertThat(window.tryAcquireNow(100)).isTrue();
        assertThat(window.tryAcquire(1, System.nanoTime() + 1_000_000)).isFalse();
        assertThat(window.inFlight()).isEqualTo(100);
    }
}
