package io.deltaforge.testkit;

import io.deltaforge.api.DeltaforgeException;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A throwaway nats-server with JetStream for integration tests: file store in a fresh temp directory,
 * listening on 127.0.0.1 on a free port (plus an HTTP monitoring port). The server can be stopped,
 * killed and started again on the same port and store directory, so tests can check what survives.
 *
 * <p>The binary is {@code $DELTAFORGE_NATS_SERVER}, {@code nats-server} on PATH, or
 * {@code /usr/sbin/nats-server} / {@code /usr/bin/nats-server}.
 *
 * <pre>{@code
 * try (NatsServer nats = NatsServer.start()) {
 *     String url = nats.url();   // nats://127.0.0.1:PORT
 *     nats.stop();               // SIGTERM; kill() sends SIGKILL
 *     nats.startAgain();         // same port, same JetStream store
 * }
 * // auth or TLS: extra config text; port, address and store dir are still injected
 * try (NatsServer secured = NatsServer.startWithConfig("authorization { user: a, password: b }")) { ... }
 * }</pre>
 *
 * <p>Thread safety: all methods may be called from any thread; lifecycle methods are serialized.
 * A JVM shutdown hook kills the server and deletes its directory if {@link #close()} is never called.
 */
public final class NatsServer implements AutoCloseable {
    static final String ENV = "DELTAFORGE_NATS_SERVER";
    private static final String PREFIX = "deltaforge-nats-";
    private static final String HOST = "127.0.0.1";
    private static final String PID_FILE = "nats-server.pid";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);
    private static final int START_ATTEMPTS = 3;

    private final Object lock = new Object();
    private final Path binary;
    private final Path root;
    private final Path storeDir;
    private final Path logFile;
    private final @Nullable Path configFile;
    private final Thread shutdownHook;
    private volatile int port;
    private volatile int monitorPort;
    private volatile @Nullable Process process;
    private volatile boolean closed;

    private NatsServer(Path binary, Path root, @Nullable Path configFile) {
        this.binary = binary;
        this.root = root;
        this.storeDir = root.resolve("jetstream");
        this.logFile = root.resolve("nats-server.log");
        this.configFile = configFile;
        this.shutdownHook = new Thread(this::destroyQuietly, "deltaforge-testkit-nats-cleanup");
    }

    /**
     * Starts a JetStream-enabled server and waits until JetStream answers API requests.
     *
     * @throws DeltaforgeException when nats-server is missing (the message says what to install) or does
     *     not start (the message includes the tail of its log)
     */
    public static NatsServer start() {
        return create(null);
    }

    /**
     * Starts a server with extra configuration text (nats-server config syntax, e.g. an
     * {@code authorization} or {@code tls} block). Listen address, port, monitoring port, JetStream and
     * its store directory are set on the command line and override the text. Readiness is judged from the
     * log and the open port, since the test kit cannot know the credentials the text asks for.
     *
     * @param confText config file contents, not null (may be empty)
     */
    public static NatsServer startWithConfig(String confText) {
        if (confText == null) {
            throw new NullPointerException("confText == null");
        }
        return create(confText);
    }

    private static NatsServer create(@Nullable String confText) {
        Path binary = locate();
        Path base = TempDirs.base(false);
        killOrphans(base);
        Path root = TempDirs.create(base, PREFIX);
        Path config = null;
        if (confText != null) {
            config = root.resolve("nats-server.conf");
            try {
                Files.writeString(config, confText, StandardCharsets.UTF_8);
            } catch (IOException e) {
                Procs.deleteRecursively(root);
                throw new DeltaforgeException("cannot write nats-server config " + config + ": " + e.getMessage(), e);
            }
        }
        NatsServer server = new NatsServer(binary, root, config);
        Runtime.getRuntime().addShutdownHook(server.shutdownHook);
        try {
            server.firstStart();
            return server;
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** {@code nats://127.0.0.1:PORT}; stays the same across {@link #stop()} / {@link #startAgain()}. */
    public String url() {
        return "nats://" + HOST + ":" + port;
    }

    /** Always {@code 127.0.0.1}. */
    public String host() {
        return HOST;
    }

    /** The client port. */
    public int port() {
        return port;
    }

    /** The HTTP monitoring port ({@code /varz}, {@code /jsz}, {@code /healthz}). */
    public int monitorPort() {
        return monitorPort;
    }

    /** The JetStream store directory. */
    public Path storeDir() {
        return storeDir;
    }

    /** The server log (stdout and stderr of every start, appended). */
    public Path logFile() {
        return logFile;
    }

    /** Whether the server process is alive. */
    public boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /**
     * Opens a new jnats connection to this server (no credentials); the caller closes it.
     * For servers started with auth or TLS config, build your own {@link Options} with {@link #url()}.
     */
    public Connection connect() throws IOException, InterruptedException {
        return Nats.connect(new Options.Builder()
                .server(url())
                .connectionTimeout(Duration.ofSeconds(5))
                .build());
    }

    /** Stops the server gracefully (SIGTERM, waits; SIGKILL after 15 s). No-op when not running. */
    public void stop() {
        synchronized (lock) {
            ensureOpen();
            terminate(false);
        }
    }

    /** Kills the server abruptly (SIGKILL), as a crash would. No-op when not running. */
    public void kill() {
        synchronized (lock) {
            ensureOpen();
            terminate(true);
        }
    }

    /** Starts the stopped or killed server again on the same port and store directory. No-op when running. */
    public void startAgain() {
        synchronized (lock) {
            ensureOpen();
            if (isRunning()) {
                return;
            }
            String problem = tryStart();
            if (problem != null) {
                throw new DeltaforgeException("nats-server did not start again on port " + port + ": " + problem);
            }
        }
    }

    /** Stops the server and deletes its store directory. Idempotent. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            terminate(false);
            destroyQuietly();
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException ignored) {
                // the JVM is already shutting down; the hook is running or has run
            }
        }
    }

    @Override
    public String toString() {
        return "NatsServer[" + url() + ", store=" + storeDir + (isRunning() ? "" : ", stopped") + "]";
    }

    private void destroyQuietly() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            try {
                terminate(true);
            } catch (RuntimeException ignored) {
                // best effort during cleanup
            }
            Procs.deleteRecursively(root);
        }
    }

    private void firstStart() {
        List<String> problems = new ArrayList<>();
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            port = Ports.freePort();
            do {
                monitorPort = Ports.freePort();
            } while (monitorPort == port);
            String problem = tryStart();
            if (problem == null) {
                return;
            }
            problems.add("port " + port + ": " + problem);
            // Only a lost race for a port is worth retrying; anything else will fail the same way again.
            if (!problem.contains("address already in use")) {
                break;
            }
        }
        throw new DeltaforgeException("nats-server (" + binary + ") did not start: " + String.join("\n", problems));
    }

    /** Launches the process and waits until it is ready; returns null on success or a problem description. */
    private @Nullable String tryStart() {
        List<String> command = new ArrayList<>();
        command.add(binary.toString());
        if (configFile != null) {
            command.add("-c");
            command.add(configFile.toString());
        }
        command.addAll(List.of("-js", "-a", HOST, "-p", Integer.toString(port), "-m", Integer.toString(monitorPort),
                "-sd", storeDir.toString()));
        long logOffset = size(logFile);
        Process p;
        try {
            p = new ProcessBuilder(command)
                    .directory(root.toFile())
                    .redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .start();
        } catch (IOException e) {
            return "cannot run " + String.join(" ", command) + ": " + e.getMessage();
        }
        process = p;
        writePid(p.pid());
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String lastProbeError = "not ready";
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                process = null;
                return "exited with code " + p.exitValue() + "\n" + Procs.tail(logFile, 30);
            }
            if (newLogText(logOffset).contains("Server is ready") && Ports.accepts(HOST, port)) {
                if (configFile != null) {
                    return null;
                }
                lastProbeError = probeJetStream();
                if (lastProbeError == null) {
                    return null;
                }
            }
            Procs.sleep(50);
        }
        terminate(true);
        return "not ready after " + START_TIMEOUT.toSeconds() + "s (" + lastProbeError + ")\n" + Procs.tail(logFile, 30);
    }

    @SuppressWarnings("try") // Connection.close() may throw InterruptedException, handled below
    private @Nullable String probeJetStream() {
        try (Connection c = connect()) {
            c.jetStreamManagement().getAccountStatistics();
            return null;
        } catch (IOException | JetStreamApiException e) {
            return "JetStream probe: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DeltaforgeException("interrupted while waiting for nats-server", e);
        }
    }

    private void terminate(boolean forcibly) {
        Process p = process;
        if (p == null) {
            return;
        }
        try {
            if (forcibly) {
                p.destroyForcibly();
            } else {
                p.destroy();
            }
            if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            process = null;
        }
    }

    private String newLogText(long offset) {
        String all = Procs.read(logFile);
        // the log is appended by each start; byte offset equals char offset for nats-server's ASCII output
        return offset < all.length() ? all.substring((int) offset) : "";
    }

    private void writePid(long pid) {
        try {
            Files.writeString(root.resolve(PID_FILE), Long.toString(pid));
        } catch (IOException ignored) {
            // only used for orphan cleanup
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("NatsServer on port " + port + " is closed");
        }
    }

    private static long size(Path file) {
        try {
            return Files.exists(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    static Path locate() {
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            Path p = Path.of(env.strip());
            if (Files.isExecutable(p)) {
                return p;
            }
            throw new DeltaforgeException(ENV + ": '" + env + "' is not an executable file;"
                    + " point it at the nats-server binary or unset it");
        }
        Path onPath = Procs.onPath("nats-server");
        if (onPath != null) {
            return onPath;
        }
        for (String candidate : List.of("/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server")) {
            Path p = Path.of(candidate);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        throw new DeltaforgeException("nats-server not found on PATH, in /usr/sbin or /usr/bin; install it"
                + " (Debian/Ubuntu: apt-get install nats-server) or set " + ENV + " to the binary");
    }

    /** Kills servers whose owning JVM died without running its shutdown hook, then deletes their dirs. */
    private static void killOrphans(Path base) {
        for (Path dir : TempDirs.orphans(base, PREFIX)) {
            try {
                long pid = Long.parseLong(Files.readString(dir.resolve(PID_FILE)).strip());
                ProcessHandle.of(pid)
                        .filter(h -> h.info().command().map(c -> c.endsWith("nats-server")).orElse(false))
                        .ifPresent(ProcessHandle::destroyForcibly);
            } catch (IOException | RuntimeException ignored) {
                // opportunistic cleanup must never fail a test
            }
            Procs.deleteRecursively(dir);
        }
    }
}
