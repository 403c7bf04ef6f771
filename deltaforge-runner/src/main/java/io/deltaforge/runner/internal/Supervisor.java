package io.deltaforge.runner.internal;

import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineState;
import io.deltaforge.yaml.internal.Causes;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs pipelines until a stop is requested or one of them fails, then stops them all within a bound.
 * Exit codes: 0 after a requested stop (or when every pipeline stopped on its own), 1 when a pipeline
 * failed to start or failed while running.
 */
public final class Supervisor {
    private static final Logger log = LoggerFactory.getLogger(Supervisor.class);
    /** Time on top of the drain timeout for closing connections. */
    private static final Duration CLOSE_GRACE = Duration.ofSeconds(5);

    private final Duration closeGrace;

    private final PrintStream err;
    private final boolean debug;
    private final Duration drainTimeout;

    /**
     * @param err          where a failure's one-line cause goes
     * @param debug        print stack traces too
     * @param drainTimeout how long each pipeline may take to deliver what it read when stopping
     */
    public Supervisor(PrintStream err, boolean debug, Duration drainTimeout) {
        this(err, debug, drainTimeout, CLOSE_GRACE);
    }

    Supervisor(PrintStream err, boolean debug, Duration drainTimeout, Duration closeGrace) {
        this.err = Objects.requireNonNull(err, "err");
        this.debug = debug;
        this.drainTimeout = Objects.requireNonNull(drainTimeout, "drainTimeout");
        this.closeGrace = Objects.requireNonNull(closeGrace, "closeGrace");
    }

    /** The longest {@link #run} takes from a stop request until it returns. */
    public Duration stopBound() {
        return drainTimeout.plus(closeGrace);
    }

    /**
     * Starts the pipelines in order and waits.
     *
     * @param stopRequested completes when the process should stop (a signal)
     * @return the exit code
     */
    public int run(List<Pipeline> pipelines, CompletionStage<?> stopRequested) {
        List<Pipeline> started = new ArrayList<>();
        for (Pipeline p : pipelines) {
            if (stopRequested.toCompletableFuture().isDone()) {
                log.info("stop requested while starting; stopping {} pipeline(s)", started.size());
                return stopAll(started) ? 0 : 1;
            }
            log.info("starting pipeline '{}'", p.name());
            try {
                p.start();
            } catch (RuntimeException e) {
                fail("pipeline '" + p.name() + "' failed to start", e);
                stopAll(started);
                return 1;
            }
            started.add(p);
            log.info("pipeline '{}' started", p.name());
        }
        log.info("{} pipeline(s) running; stop with Ctrl-C or SIGTERM", started.size());

        CompletableFuture<Outcome> outcome = new CompletableFuture<>();
        AtomicInteger running = new AtomicInteger(started.size());
        for (Pipeline p : started) {
            p.termination().whenComplete((ignored, failure) -> {
                if (failure != null) {
                    outcome.complete(new Outcome(Outcome.Kind.FAILED, p, failure));
                } else {
                    log.info("pipeline '{}' stopped", p.name());
                    if (running.decrementAndGet() == 0) {
                        outcome.complete(new Outcome(Outcome.Kind.ALL_STOPPED, null, null));
                    }
                }
            });
        }
        stopRequested.whenComplete((ignored, failure) -> outcome.complete(Outcome.STOP_REQUESTED));

        Outcome o;
        try {
            o = outcome.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            o = Outcome.STOP_REQUESTED;
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
        if (o.kind() == Outcome.Kind.STOP_REQUESTED) {
            log.info("stop requested; stopping {} pipeline(s), waiting up to {}s for deliveries", started.size(),
                    drainTimeout.toSeconds());
            return stopAll(started) ? 0 : 1;
        }
        Pipeline failed = o.failed();
        if (o.kind() == Outcome.Kind.ALL_STOPPED || failed == null) {
            log.info("every pipeline stopped");
            return 0;
        }
        fail("pipeline '" + failed.name() + "' failed", Objects.requireNonNull(o.failure()));
        List<Pipeline> others = new ArrayList<>(started);
        others.remove(failed);
        stopAll(others);
        return 1;
    }

    /**
     * Stops pipelines in parallel, each within the drain timeout.
     *
     * @return true if every pipeline stopped in time and none failed
     */
    private boolean stopAll(List<Pipeline> pipelines) {
        if (pipelines.isEmpty()) {
            return true;
        }
        List<Thread> threads = new ArrayList<>();
        List<Boolean> clean = java.util.Collections.synchronizedList(new ArrayList<>());
        for (Pipeline p : pipelines) {
            Thread t = new Thread(() -> {
                try {
                    if (!p.stop(drainTimeout)) {
                        log.warn("pipeline '{}' stopped before delivering everything it read; the rest is "
                                + "delivered again after a restart", p.name());
                    }
                    boolean failed = p.status().state() == PipelineState.FAILED;
                    if (failed) {
                        Throwable cause = p.status().failure();
                        fail("pipeline '" + p.name() + "' failed while stopping",
                                cause == null ? new IllegalStateException("no cause given") : cause);
                    }
                    // "stopped" itself is logged by the termination callback in run().
                    clean.add(!failed);
                } catch (RuntimeException e) {
                    fail("pipeline '" + p.name() + "' failed to stop", e);
                    clean.add(false);
                }
            }, "deltaforge-stop-" + p.name());
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        long deadline = System.nanoTime() + stopBound().toNanos();
        boolean allStopped = true;
        for (int i = 0; i < threads.size(); i++) {
            Thread t = threads.get(i);
            try {
                t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                err.println("error: pipeline '" + pipelines.get(i).name() + "' did not stop within "
                        + stopBound().toMillis() + " ms; giving up on it");
                allStopped = false;
            }
        }
        return allStopped && !clean.contains(false);
    }

    private void fail(String what, Throwable cause) {
        err.println("error: " + what + ": " + Causes.oneLine(cause));
        if (debug) {
            Causes.unwrap(cause).printStackTrace(err);
        }
    }

    /** How waiting ended; {@code failed} and {@code failure} are set for FAILED only. */
    private record Outcome(Kind kind, @Nullable Pipeline failed, @Nullable Throwable failure) {
        static final Outcome STOP_REQUESTED = new Outcome(Kind.STOP_REQUESTED, null, null);

        enum Kind { FAILED, STOP_REQUESTED, ALL_STOPPED }
    }
}
