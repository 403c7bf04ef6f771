package io.deltaforge.runner.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.api.PipelineStatus;
import io.deltaforge.api.SnapshotRequest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(20)
class SupervisorTest {
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
    private final ExecutorService executor = Executors.newSingleThreadExecutor();

    @AfterEach
    void shutdown() {
        executor.shutdownNow();
    }

    private String err() {
        return errBytes.toString(StandardCharsets.UTF_8);
    }

    /** A pipeline whose life the test drives. */
    static final class FakePipeline implements Pipeline {
        final String name;
        final @Nullable RuntimeException startFailure;
        final CompletableFuture<Void> termination = new CompletableFuture<>();
        final AtomicBoolean started = new AtomicBoolean();
        final AtomicBoolean stopped = new AtomicBoolean();
        volatile boolean hangOnStop;

        FakePipeline(String name, @Nullable RuntimeException startFailure) {
            this.name = name;
            this.startFailure = startFailure;
        }

        @Override public String name() { return name; }

        @Override
        public void start() {
            if (startFailure != null) {
                throw startFailure;
            }
            started.set(true);
        }

        @Override public void stop() { stop(Duration.ofSeconds(30)); }

        @Override
        public boolean stop(Duration drainTimeout) {
            stopped.set(true);
            if (hangOnStop) {
                try {
                    Thread.sleep(60_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            termination.complete(null);
            return true;
        }

        @Override public boolean awaitTermination(Duration timeout) { return termination.isDone(); }
        @Override public CompletionStage<Void> termination() { return termination; }

        @Override
        public PipelineStatus status() {
            PipelineState state = termination.isCompletedExceptionally() ? PipelineState.FAILED
                    : termination.isDone() ? PipelineState.STOPPED : PipelineState.RUNNING;
            return new PipelineStatus(name, state, null, 0, 0, null);
        }

        @Override public void close() { stop(); }
        @Override public void pause() { }
        @Override public void resume() { }
        @Override public void snapshot(SnapshotRequest request) { }
        @Override public Pipeline.Builder toBuilder() { throw new UnsupportedOperationException(); }
    }

    @Test
    void aStopRequestStopsEveryPipelineAndExitsZero() throws Exception {
        FakePipeline a = new FakePipeline("a", null);
        FakePipeline b = new FakePipeline("b", null);
        CompletableFuture<Void> stop = new CompletableFuture<>();
        Future<Integer> code = executor.submit(() -> new Supervisor(err, false, Duration.ofSeconds(1))
                .run(List.of(a, b), stop));

        awaitStarted(a, b);
        assertThat(code.isDone()).isFalse();
        stop.complete(null);

        assertThat(code.get(10, TimeUnit.SECONDS)).isZero();
        assertThat(a.stopped).isTrue();
        assertThat(b.stopped).isTrue();
        assertThat(err()).isEmpty();
    }

    @Test
    void aFailingPipelineStopsTheOthersAndExitsOneWithTheCauseOnOneLine() throws Exception {
        FakePipeline a = new FakePipeline("a", null);
        FakePipeline b = new FakePipeline("b", null);
        Future<Integer> code = executor.submit(() -> new Supervisor(err, false, Duration.ofSeconds(1))
                .run(List.of(a, b), new CompletableFuture<>()));

        awaitStarted(a, b);
        b.termination.completeExceptionally(new DeltaforgeException("sink.nats: stream USERS is gone\nrecreate it"));

        assertThat(code.get(10, TimeUnit.SECONDS)).isEqualTo(1);
        assertThat(a.stopped).isTrue();
        assertThat(b.stopped).isFalse();
        assertThat(err()).isEqualTo("error: pipeline 'b' failed: sink.nats: stream USERS is gone recreate it"
                + System.lineSeparator());
    }

    @Test
    void aPipelineThatCannotStartStopsThoseAlreadyStarted() {
        FakePipeline a = new FakePipeline("a", null);
        FakePipeline b = new FakePipeline("b", new DeltaforgeException("publication users_pub does not exist"));
        FakePipeline c = new FakePipeline("c", null);

        int code = new Supervisor(err, false, Duration.ofSeconds(1)).run(List.of(a, b, c), new CompletableFuture<>());

        assertThat(code).isEqualTo(1);
        assertThat(a.stopped).isTrue();
        assertThat(c.started).isFalse();
        assertThat(err()).isEqualTo("error: pipeline 'b' failed to start: publication users_pub does not exist"
                + System.lineSeparator());
    }

    @Test
    void stackTracesOnlyInDebugMode() {
        FakePipeline a = new FakePipeline("a", new IllegalStateException("bug"));

        new Supervisor(err, true, Duration.ofSeconds(1)).run(List.of(a), new CompletableFuture<>());

        assertThat(err()).startsWith("error: pipeline 'a' failed to start: IllegalStateException: bug")
                .contains("\tat ");
    }

    @Test
    void aPipelineThatDoesNotStopInTimeIsGivenUpOn() throws Exception {
        FakePipeline a = new FakePipeline("a", null);
        FakePipeline b = new FakePipeline("b", null);
        a.hangOnStop = true;
        CompletableFuture<Void> stop = new CompletableFuture<>();
        Future<Integer> code = executor.submit(() -> new Supervisor(err, false, Duration.ofMillis(200),
                Duration.ofMillis(200)).run(List.of(a, b), stop));
        awaitStarted(a, b);
        long t0 = System.nanoTime();

        stop.complete(null);

        assertThat(code.get(10, TimeUnit.SECONDS)).isEqualTo(1);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
        assertThat(b.stopped).isTrue();
        assertThat(err()).isEqualTo("error: pipeline 'a' did not stop within 400 ms; giving up on it"
                + System.lineSeparator());
    }

    @Test
    void everyPipelineStoppingOnItsOwnExitsZero() throws Exception {
        FakePipeline a = new FakePipeline("a", null);
        Future<Integer> code = executor.submit(() -> new Supervisor(err, false, Duration.ofSeconds(1))
                .run(List.of(a), new CompletableFuture<>()));

        awaitStarted(a);
        a.termination.complete(null);

        assertThat(code.get(10, TimeUnit.SECONDS)).isZero();
    }

    private static void awaitStarted(FakePipeline... pipelines) {
        await().atMost(Duration.ofSeconds(10))
                .until(() -> Arrays.stream(pipelines).allMatch(p -> p.started.get()));
    }
}
