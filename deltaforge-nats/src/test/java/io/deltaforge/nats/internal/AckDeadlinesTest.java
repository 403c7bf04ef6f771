package io.deltaforge.nats.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AckDeadlinesTest {
    private final AckDeadlines deadlines = new AckDeadlines("ack-deadlines-test", () -> { });
    private final AtomicInteger fired = new AtomicInteger();

    @AfterEach
    void close() {
        deadlines.close();
    }

    @Test
    void runsTheActionOnceWhenTheBatchIsNotDoneByItsDeadline() {
        deadlines.add(new CompletableFuture<Void>(), System.nanoTime() - 1, fired::incrementAndGet);
        deadlines.sweep();
        deadlines.sweep();
        assertThat(fired).hasValue(1);
        assertThat(deadlines.size()).isZero();
    }

    @Test
    void letsGoOfACompletedBatchWithoutRunningItsAction() {
        CompletableFuture<Void> done = CompletableFuture.completedFuture(null);
        deadlines.add(done, System.nanoTime() - 1, fired::incrementAndGet);
        deadlines.add(done, System.nanoTime() + TimeUnit.HOURS.toNanos(1), fired::incrementAndGet);
        deadlines.sweep();
        assertThat(fired).hasValue(0);
        assertThat(deadlines.size()).isZero();
    }

    @Test
    void keepsAPendingBatchUntilItsDeadline() {
        deadlines.add(new CompletableFuture<Void>(), System.nanoTime() + TimeUnit.HOURS.toNanos(1), fired::incrementAndGet);
        deadlines.sweep();
        assertThat(fired).hasValue(0);
        assertThat(deadlines.size()).isOne();
    }

    @Test
    void anActionThatThrowsEndsNeitherTheSweepNorTheSchedule() {
        deadlines.add(new CompletableFuture<Void>(), System.nanoTime() - 1, () -> {
            throw new IllegalStateException("broken action");
        });
        deadlines.add(new CompletableFuture<Void>(), System.nanoTime() - 1, fired::incrementAndGet);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> fired.get() == 1);

        deadlines.add(new CompletableFuture<Void>(), System.nanoTime() - 1, fired::incrementAndGet);
        Awaitility.await("a later sweep").atMost(Duration.ofSeconds(30)).until(() -> fired.get() == 2);
    }
}
