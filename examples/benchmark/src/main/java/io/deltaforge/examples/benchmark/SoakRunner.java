package io.deltaforge.examples.benchmark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The pipeline as users run it: {@code ./deltaforge run --config FILE} in its own process (the script
 * {@code exec}s the JVM, so the process is the runner's JVM and its resident set is the pipeline's).
 */
final class SoakRunner implements AutoCloseable {
    private final Process process;
    private final Path log;
    private final Thread killOnExit;

    private SoakRunner(Process process, Path log) {
        this.process = process;
        this.log = log;
        // Ctrl-C on the benchmark must not leave the runner behind (the servers have their own hooks).
        this.killOnExit = new Thread(process::destroyForcibly, "soak-runner-cleanup");
        Runtime.getRuntime().addShutdownHook(killOnExit);
    }

    static SoakRunner start(Path deltaforge, Path config, Map<String, String> env, Path log) throws IOException {
        return start(List.of(deltaforge.toString(), "run", "--config", config.toString()), env, log);
    }

    /** Any command as the pipeline's process (the runner benchmark also runs Debezium this way). */
    static SoakRunner start(List<String> command, Map<String, String> env, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        return new SoakRunner(pb.start(), log);
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for {@code text} in the log; false on timeout or when the runner exits first. */
    boolean awaitLog(String text, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline && process.isAlive()) {
            if (log().contains(text)) {
                return true;
            }
            Thread.sleep(100);
        }
        return log().contains(text);
    }

    /** The runner's resident set in kB, 0 when it is gone or the OS does not say. */
    long rssKb() {
        return RssSampler.rssKb(Path.of("/proc", Long.toString(process.pid()), "status"));
    }

    /** SIGTERM, as a service manager stops it; the exit code, or -1 when it had to be killed. */
    int stop(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            return -1;
        }
        return process.exitValue();
    }

    String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /** The last lines of the log, for a failure message. */
    String logTail(int lines) throws IOException {
        List<String> all = log().lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        try {
            Runtime.getRuntime().removeShutdownHook(killOnExit);
        } catch (IllegalStateException ignored) {
            // The JVM is shutting down: the hook runs anyway.
        }
    }
}
