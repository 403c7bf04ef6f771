package io.deltaforge.nats.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.deltaforge.nats.AtomicTransactions;
import io.deltaforge.spi.Batch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

class InFlightWindowTest {
    private static final int PLACES = 2;
    private static final long BYTES = 100;

    private final InFlightWindow window;

    InFlightWindowTest() {
        List<String> problems = new ArrayList<>();
        NatsSinkSettings settings = new NatsSinkSettings("s", List.of("nats://localhost:4222"),
                SubjectTemplate.parse("cdc.{table}", null, problems), "orders", Duration.ofSeconds(5),
                Duration.ofSeconds(1), PLACES, BYTES, false, NatsSinkSettings.StreamSpec.DEFAULT,
                NatsSinkSettings.Auth.NONE, null, Map.of(), null, Duration.ofMinutes(2),
                AtomicTransactions.AUTO, true, "cdc.tx");
        assertThat(problems).isEmpty();
        window = new InFlightWindow(settings, "sink s", (event, subject, size, cause) -> new DeltaforgeException("unused"));
    }

    private InFlightWindow.Sending sending(CompletableFuture<Void> acks) {
        return window.sending(new Batch(7, List.of(), List.of()), acks, null);
    }

    @Test
    void freeRoomIsTakenAndGivenBack() {
        CompletableFuture<Void> acks = new CompletableFuture<>();
        InFlightWindow.Sending sending = sending(acks);
        assertThat(sending.acquire(60, 1)).isTrue();
        assertThat(sending.acquire(40, 1)).isTrue();
        assertThat(window.bytesInFlight()).isEqualTo(100);
        sending.release(2, 100);
        assertThat(window.bytesInFlight()).isZero();
        assertThat(acks).isNotDone();
    }

    @Test
    void placesThatStayTakenFailTheBatchAtItsTimeout() {
        CompletableFuture<Void> acks = new CompletableFuture<>();
        InFlightWindow.Sending sending = sending(acks);
        assertThat(sending.acquire(1, PLACES)).isTrue();

        assertThat(sending.acquire(1, 1)).isFalse();

        assertThat(acks).isCompletedExceptionally();
        assertThatFailure(acks).isInstanceOf(RetryableException.class)
                .hasMessageContaining("in-flight window of 2 messages / 100 bytes stayed full").hasMessageContaining("batch 7");
        assertThat(window.bytesInFlight()).isEqualTo(1);
    }

    @Test
    void bytesThatStayTakenFailTheBatchAndGiveItsPlacesBack() throws InterruptedException {
        CompletableFuture<Void> acks = new CompletableFuture<>();
        InFlightWindow.Sending sending = sending(acks);
        assertThat(sending.acquire(BYTES, 1)).isTrue();

        assertThat(sending.acquire(1, 1)).isFalse();

        assertThat(acks).isCompletedExceptionally();
        assertThat(window.bytesInFlight()).isEqualTo(BYTES);
        // Only the first acquire's place is still taken: the failed one gave its place back.
        sending.release(1, BYTES);
        assertThat(window.awaitIdle(Duration.ZERO)).isTrue();
    }

    @Test
    void publishesShareAClockReadingUntilTheSixtyFifth() throws InterruptedException {
        InFlightWindow.Sending sending = sending(new CompletableFuture<>());
        long first = sending.publishClock();
        for (int i = 1; i < 64; i++) {
            assertThat(sending.publishClock()).isEqualTo(first);
        }
        Thread.sleep(2);
        long second = sending.publishClock();
        assertThat(second).isGreaterThan(first);
        assertThat(sending.publishClock()).isEqualTo(second);

        assertThat(sending.acquire(1, PLACES)).isTrue();
        assertThat(sending.publishClock()).as("free room: no wait, the same reading").isEqualTo(second);
    }

    @Test
    void aWaitForRoomMakesTheNextPublishReadTheClock() throws InterruptedException {
        InFlightWindow.Sending sending = sending(new CompletableFuture<>());
        long before = sending.publishClock();
        assertThat(sending.acquire(BYTES, 1)).isTrue();
        AtomicBoolean took = new AtomicBoolean();
        Thread waiter = new Thread(() -> took.set(sending.acquire(BYTES, 1)));
        waiter.start();
        Awaitility.await("the second acquire waiting for bytes").atMost(Duration.ofSeconds(30))
                .until(() -> waiter.getState() == Thread.State.TIMED_WAITING);

        sending.release(1, BYTES);
        waiter.join();

        assertThat(took).isTrue();
        assertThat(sending.publishClock()).isGreaterThan(before);
    }

    private static org.assertj.core.api.AbstractThrowableAssert<?, ? extends Throwable> assertThatFailure(
            CompletableFuture<Void> acks) {
        try {
            acks.get();
            throw new AssertionError("not failed");
        } catch (ExecutionException e) {
            return assertThat(e.getCause());
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
