package io.deltaforge.runner.testsupport;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The runner as a user starts it: {@code java -jar deltaforge-runner.jar run --config FILE}, in its own
 * JVM, so tests can stop it with SIGTERM or kill it with SIGKILL at any instant.
 */
public final class RunnerProcess implements AutoCloseable {
    public static final Path JAR = Path.of("target", "deltaforge-runner.jar").toAbsolutePath();

    private final Process process;
    private final Path log;

    private RunnerProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    public static RunnerProcess start(Path config, Map<String, String> env, Path log, String... jvmArgs) throws IOException {
        if (!Files.exists(JAR)) {
            throw new IllegalStateException(JAR + " is missing; it is built in the package phase (mvn verify)");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-jar", JAR.toString(), "run", "--config", config.toString()));
        return launch(cmd, env, log);
    }

    /**
     * The runner as a JPMS user starts it: {@code java -p MODULES -m io.deltaforge.runner/...Runner run}, with
     * this test's runtime class path (minus test-only jars) as the module path, so only the module
     * descriptors decide what is readable and which providers are found.
     */
    public static RunnerProcess startOnModulePath(Path config, Map<String, String> env, Path log) throws IOException {
        List<String> modules = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String name = Path.of(entry).getFileName().toString();
            boolean testOnly = entry.contains("test-classes") || name.endsWith("-tests.jar")
                    || TEST_ONLY.stream().anyMatch(name::startsWith);
            if (!testOnly) {
                modules.add(entry);
            }
        }
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-p", String.join(File.pathSeparator, modules), "-m", "io.deltaforge.runner/io.deltaforge.runner.Runner",
                "run", "--config", config.toString());
        return launch(cmd, env, log);
    }

    private static final List<String> TEST_ONLY = List.of("junit-", "opentest4j", "apiguardian", "assertj-",
            "awaitility", "hamcrest", "deltaforge-testkit", "byte-buddy");

    private static RunnerProcess launch(List<String> cmd, Map<String, String> env, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        return new RunnerProcess(pb.start(), log);
    }

    /** Waits for a line containing {@code text} in the log (appended since start); false on timeout or exit. */
    public boolean awaitLog(String text, Duration timeout) throws IOException {
        try {
            Awaitility.await().atMost(timeout).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(50))
                    .until(() -> log().contains(text) || !process.isAlive());
        } catch (ConditionTimeoutException e) {
            return false;
        }
        return log().contains(text);
    }

    public String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    public void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /**
     * SIGSTOP: the process freezes with its sockets open, as in a long GC pause or a frozen VM; nothing on the
     * other side of its connections notices until a timeout. {@link #thaw()} lets it go on.
     */
    public void freeze() throws IOException, InterruptedException {
        signal("STOP");
    }

    /** SIGCONT after {@link #freeze()}. */
    public void thaw() throws IOException, InterruptedException {
        signal("CONT");
    }

    private void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        if (kill.waitFor() != 0) {
            throw new IOException("kill -" + name + " " + process.pid() + " failed");
        }
    }

    /** SIGTERM, then the exit code (or -1 if it did not exit in time). */
    public int terminate(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            return -1;
        }
        return process.exitValue();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill9();
        }
    }
}
