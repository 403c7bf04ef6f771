package io.deltaforge.testkit;

import io.deltaforge.api.DeltaforgeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * A throwaway PostgreSQL cluster for integration tests: initdb into a fresh temp directory, configured for
 * logical replication ({@code wal_level=logical}, 20 slots and WAL senders), listening on 127.0.0.1 on a
 * free port with user {@code postgres} / password {@code postgres} (SCRAM over TCP, including replication
 * connections).
 *
 * <p>Server binaries come from {@code $DELTAFORGE_PG_BIN}, {@code pg_config --bindir}, the newest
 * {@code /usr/lib/postgresql/N/bin}, or {@code initdb} on PATH. When the JVM runs as root, the server
 * runs as the unprivileged user {@code deltaforge-pg} (created on demand; override with
 * {@code $DELTAFORGE_PG_USER}) because PostgreSQL refuses to run as root. Durability settings (fsync,
 * full_page_writes) are off for speed: a server crash may lose data, an orderly {@link #restart()} does not.
 *
 * <pre>{@code
 * try (PostgresServer pg = PostgresServer.start()) {
 *     pg.execute("CREATE TABLE users (id int PRIMARY KEY, name text); INSERT INTO users VALUES (1, 'Alice')");
 *     String dsn = pg.dsn();     // postgres://postgres:postgres@127.0.0.1:PORT/postgres
 *     pg.restart();              // same port, same data
 * }
 * }</pre>
 *
 * <p>High availability: {@link #startStandby} makes a physical standby of a server (a cleanly stopped copy
 * of its data directory with {@code standby.signal}, streaming through a physical slot, as pg_basebackup
 * would set it up), {@link #promote()} turns a standby into a primary, {@link #kill()} ends a server as a
 * power cut would, and {@link #addSettings} changes {@code postgresql.conf} settings.
 *
 * <pre>{@code
 * try (PostgresServer primary = PostgresServer.start();
 *      PostgresServer standby = primary.startStandby("standby1", Map.of("hot_standby_feedback", "on"))) {
 *     primary.kill();
 *     standby.promote();
 * }
 * }</pre>
 *
 * <p>Thread safety: all methods may be called from any thread; lifecycle methods are serialized.
 * A JVM shutdown hook stops the server and deletes its directory if {@link #close()} is never called.
 */
public final class PostgresServer implements AutoCloseable {
    private static final String PREFIX = "deltaforge-pg-";
    private static final String HOST = "127.0.0.1";
    private static final String USER = "postgres";
    private static final String PASSWORD = "postgres";
    private static final String DATABASE = "postgres";
    private static final Duration INITDB_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);
    private static final int START_ATTEMPTS = 3;

    private final Object lock = new Object();
    private final Path bin;
    private final RunAs runAs;
    private final Path root;
    private final Path dataDir;
    private final Path logFile;
    private final Thread shutdownHook;
    /** Settings beyond the defaults, in the order given; kept across restarts. */
    private final Map<String, String> extraSettings = new LinkedHashMap<>();
    private volatile int port;
    private volatile boolean running;
    private volatile boolean closed;

    private PostgresServer(Path bin, RunAs runAs, Path root) {
        this.bin = bin;
        this.runAs = runAs;
        this.root = root;
        this.dataDir = root.resolve("data");
        this.logFile = root.resolve("postgres.log");
        this.shutdownHook = new Thread(this::destroyQuietly, "deltaforge-testkit-postgres-cleanup");
    }

    /**
     * Creates and starts a new cluster; typically takes 1-3 seconds.
     *
     * @throws DeltaforgeException when the binaries are missing (the message says what to install) or the
     *     server does not start (the message includes the tail of the server log)
     */
    public static PostgresServer start() {
        Path bin = PgBinaries.locate();
        RunAs runAs = RunAs.detect();
        Path base = TempDirs.base(runAs.user() != null);
        stopOrphans(bin, runAs, base);
        PostgresServer server = new PostgresServer(bin, runAs, TempDirs.create(base, PREFIX));
        Runtime.getRuntime().addShutdownHook(server.shutdownHook);
        try {
            server.initdb();
            server.firstStart();
            return server;
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** Always {@code 127.0.0.1}. */
    public String host() {
        return HOST;
    }

    /** The TCP port; stays the same across {@link #restart()}. */
    public int port() {
        return port;
    }

    /** Always {@code postgres} (a superuser, allowed to replicate). */
    public String user() {
        return USER;
    }

    /** Always {@code postgres}. */
    public String password() {
        return PASSWORD;
    }

    /** Always {@code postgres}. */
    public String database() {
        return DATABASE;
    }

    /** {@code jdbc:postgresql://127.0.0.1:PORT/postgres}; pass {@link #user()} and {@link #password()}. */
    public String jdbcUrl() {
        return "jdbc:postgresql://" + HOST + ":" + port + "/" + DATABASE;
    }

    /** {@code postgres://postgres:postgres@127.0.0.1:PORT/postgres}, the form DeltaForge's source accepts. */
    public String dsn() {
        return "postgres://" + USER + ":" + PASSWORD + "@" + HOST + ":" + port + "/" + DATABASE;
    }

    /** The cluster's data directory (PGDATA). */
    public Path dataDir() {
        return dataDir;
    }

    /** The server log, useful when a test fails. */
    public Path logFile() {
        return logFile;
    }

    /** The server's major version, e.g. 17. */
    public int majorVersion() {
        return Integer.parseInt(String.valueOf(queryString("SHOW server_version_num"))) / 10_000;
    }

    /**
     * Adds (or replaces) {@code postgresql.conf} settings, kept across restarts, and reloads the
     * configuration when running; settings that need a restart take effect at the next {@link #restart()}.
     * Values are written as given, so quote strings: {@code Map.of("synchronized_standby_slots", "'sb1'")}.
     */
    public void addSettings(Map<String, String> settings) {
        synchronized (lock) {
            ensureOpen();
            extraSettings.putAll(settings);
            writeSettings();
            if (running) {
                queryString("SELECT pg_reload_conf()");
            }
        }
    }

    /**
     * Creates and starts a physical standby of this (running) server on its own free port: creates the
     * physical slot {@code slot} here, stops this server cleanly, copies its data directory (without its
     * replication slots, as pg_basebackup does), starts this server again and the copy as a hot standby
     * streaming from it through the slot ({@code primary_conninfo} with {@code dbname}, so that PostgreSQL 17's
     * slot synchronization can use it). {@code settings} go into the standby's configuration, e.g.
     * {@code hot_standby_feedback} and {@code sync_replication_slots}. Returns once the standby accepts
     * queries. The caller closes the standby.
     *
     * @throws DeltaforgeException when a server does not start (with the tail of its log)
     */
    public PostgresServer startStandby(String slot, Map<String, String> settings) {
        PostgresServer standby;
        synchronized (lock) {
            ensureOpen();
            if (queryString("SELECT slot_name FROM pg_replication_slots WHERE slot_name = '" + slot + "'") == null) {
                execute("SELECT pg_create_physical_replication_slot('" + slot + "', true)");
            }
            stopServer();
            standby = new PostgresServer(bin, runAs, TempDirs.create(TempDirs.base(runAs.user() != null), PREFIX));
            Runtime.getRuntime().addShutdownHook(standby.shutdownHook);
            try {
                copyData(dataDir, standby.dataDir);
                startServer();
            } catch (RuntimeException e) {
                standby.close();
                throw e;
            }
        }
        try {
            Files.writeString(standby.dataDir.resolve("standby.signal"), "");
            standby.extraSettings.putAll(extraSettings);
            standby.extraSettings.put("primary_conninfo", "'host=" + HOST + " port=" + port + " user=" + USER
                    + " password=" + PASSWORD + " dbname=" + DATABASE + " application_name=" + slot + "'");
            standby.extraSettings.put("primary_slot_name", "'" + slot + "'");
            standby.extraSettings.put("hot_standby", "on");
            standby.extraSettings.putAll(settings);
            standby.runAs.own(standby.root);
            standby.firstStart();
            return standby;
        } catch (IOException | RuntimeException e) {
            standby.close();
            throw e instanceof RuntimeException r ? r
                    : new DeltaforgeException("cannot prepare the standby in " + standby.root + ": " + e.getMessage(), e);
        }
    }

    /** Promotes a standby to a primary ({@code pg_ctl promote}) and waits until it accepts writes. */
    public void promote() {
        synchronized (lock) {
            ensureOpen();
            Procs.Result r = pgCtl(List.of("-w", "-t", Long.toString(START_TIMEOUT.toSeconds()), "promote"));
            if (!r.ok()) {
                throw new DeltaforgeException("pg_ctl promote failed on port " + port + " (exit " + r.exitCode()
                        + "): " + r.output().strip() + "\n" + Procs.tail(logFile, 30));
            }
        }
    }

    /**
     * Ends the server as a power cut would: SIGKILL to the postmaster and every process it started, no
     * shutdown, no checkpoint; what the WAL writer had not written yet is gone. {@link #startServer()} runs
     * crash recovery. No-op when stopped.
     */
    public void kill() {
        synchronized (lock) {
            ensureOpen();
            if (!running) {
                return;
            }
            long pid;
            try {
                pid = Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).get(0).strip());
            } catch (IOException | RuntimeException e) {
                throw new DeltaforgeException("cannot read the postmaster's pid in " + dataDir + ": " + e, e);
            }
            ProcessHandle postmaster = ProcessHandle.of(pid).orElse(null);
            if (postmaster != null) {
                List<ProcessHandle> all = new ArrayList<>(postmaster.descendants().toList());
                all.add(0, postmaster);
                all.forEach(ProcessHandle::destroyForcibly);
                for (ProcessHandle p : all) {
                    p.onExit().join();
                }
            }
            running = false;
        }
    }

    /** Whether the server process is up (as far as this object knows). */
    public boolean isRunning() {
        return running;
    }

    /** Opens a new JDBC connection as {@code postgres}; the caller closes it. */
    public Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl(), connectionProperties());
    }

    /**
     * Opens a new JDBC connection in logical replication mode ({@code replication=database}, simple query
     * mode), as pgjdbc's replication API needs; the caller closes it.
     */
    public Connection connectReplication() throws SQLException {
        Properties props = connectionProperties();
        props.setProperty("replication", "database");
        props.setProperty("assumeMinServerVersion", "10");
        props.setProperty("preferQueryMode", "simple");
        return DriverManager.getConnection(jdbcUrl(), props);
    }

    /**
     * Runs SQL in autocommit mode. Several statements separated by {@code ;} are fine; like
     * {@code psql -c}, they run as one transaction, so statements that refuse to run after writes in the
     * same transaction (e.g. {@code pg_create_logical_replication_slot}) need their own call.
     *
     * @throws DeltaforgeException wrapping the {@link SQLException}, with the SQL in the message
     */
    public void execute(String sql) {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new DeltaforgeException("SQL failed on test PostgreSQL at port " + port + ": " + e.getMessage()
                    + "\nSQL: " + abbreviate(sql), e);
        }
    }

    /**
     * Runs a query and returns the first column of the first row as text, or null when there is no row or
     * the value is SQL NULL. Handy for assertions, e.g. {@code queryString("SHOW wal_level")}.
     */
    public @Nullable String queryString(String sql) {
        try (Connection c = connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        } catch (SQLException e) {
            throw new DeltaforgeException("query failed on test PostgreSQL at port " + port + ": " + e.getMessage()
                    + "\nSQL: " + abbreviate(sql), e);
        }
    }

    /** Stops the server (fast shutdown) and starts it again on the same port with the same data. */
    public void restart() {
        synchronized (lock) {
            stopServer();
            startServer();
        }
    }

    /**
     * Stops the server with a fast shutdown (open sessions are disconnected, a checkpoint is written).
     * No-op when already stopped. Use {@link #startServer()} to bring it back.
     */
    public void stopServer() {
        synchronized (lock) {
            ensureOpen();
            if (!running) {
                return;
            }
            Procs.Result r = pgCtl(List.of("-m", "fast", "-w", "-t", Long.toString(STOP_TIMEOUT.toSeconds()), "stop"));
            if (!r.ok()) {
                pgCtl(List.of("-m", "immediate", "-w", "stop"));
            }
            running = false;
        }
    }

    /**
     * Simulates a crash: immediate shutdown without a checkpoint, so the next start runs crash recovery.
     * No-op when already stopped.
     */
    public void crashServer() {
        synchronized (lock) {
            ensureOpen();
            if (!running) {
                return;
            }
            pgCtl(List.of("-m", "immediate", "-w", "stop"));
            running = false;
        }
    }

    /** Starts a stopped server on the same port and data directory. No-op when running. */
    public void startServer() {
        synchronized (lock) {
            ensureOpen();
            if (running) {
                return;
            }
            String problem = tryStart();
            if (problem != null) {
                throw new DeltaforgeException("test PostgreSQL did not restart on port " + port + ": " + problem);
            }
        }
    }

    /** Stops the server (immediately; the data is thrown away anyway) and deletes its directory. Idempotent. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
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
        return "PostgresServer[" + jdbcUrl() + ", data=" + dataDir + (running ? "" : ", stopped") + "]";
    }

    private void destroyQuietly() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            if (running || Files.exists(dataDir.resolve("postmaster.pid"))) {
                try {
                    pgCtl(List.of("-m", "immediate", "-w", "stop"));
                } catch (RuntimeException ignored) {
                    // best effort during cleanup
                }
            }
            running = false;
            Procs.deleteRecursively(root);
        }
    }

    private void initdb() {
        try {
            Files.writeString(root.resolve("pwfile"), PASSWORD + "\n");
            runAs.own(root);
            Procs.runOk(runAs.wrap(List.of(bin.resolve("initdb").toString(),
                            "-D", dataDir.toString(),
                            "-U", USER,
                            "--pwfile=" + root.resolve("pwfile"),
                            "--auth-local=trust",
                            "--auth-host=scram-sha-256",
                            "-E", "UTF8",
                            "--locale=C",
                            "--no-sync")),
                    root, INITDB_TIMEOUT, "initdb");
            Files.writeString(dataDir.resolve("pg_hba.conf"), String.join("\n",
                    "# written by io.deltaforge.testkit.PostgresServer",
                    "local   all          all                    trust",
                    "local   replication  all                    trust",
                    "host    all          all    127.0.0.1/32    scram-sha-256",
                    "host    replication  all    127.0.0.1/32    scram-sha-256",
                    ""));
            Files.writeString(dataDir.resolve("postgresql.conf"),
                    "\ninclude_if_exists 'deltaforge.conf'\n",
                    java.nio.file.StandardOpenOption.APPEND);
            runAs.own(root);
        } catch (IOException e) {
            throw new DeltaforgeException("cannot prepare test PostgreSQL in " + root + ": " + e.getMessage(), e);
        }
    }

    private void firstStart() {
        List<String> problems = new ArrayList<>();
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            port = Ports.freePort();
            writeSettings();
            String problem = tryStart();
            if (problem == null) {
                return;
            }
            problems.add("port " + port + ": " + problem);
            // Only a lost race for the port is worth retrying; anything else will fail the same way again.
            if (!problem.contains("could not bind") && !problem.contains("Address already in use")
                    && !problem.contains("could not create any TCP/IP sockets")) {
                break;
            }
        }
        throw new DeltaforgeException("test PostgreSQL (" + bin + ") did not start: " + String.join("\n", problems));
    }

    private void writeSettings() {
        StringBuilder extra = new StringBuilder();
        extraSettings.forEach((k, v) -> extra.append(k).append(" = ").append(v).append('\n'));
        String settings = String.join("\n",
                "# written by io.deltaforge.testkit.PostgresServer",
                "listen_addresses = '" + HOST + "'",
                "port = " + port,
                "unix_socket_directories = '" + root + "'",
                "wal_level = logical",
                "max_replication_slots = 20",
                "max_wal_senders = 20",
                "wal_sender_timeout = 60s",
                "max_connections = 100",
                "shared_buffers = 32MB",
                "fsync = off",
                "synchronous_commit = off",
                "full_page_writes = off",
                "max_prepared_transactions = 10",
                "log_min_messages = warning",
                "log_line_prefix = '%m [%p] '",
                "") + extra;
        try {
            Path file = dataDir.resolve("deltaforge.conf");
            Files.writeString(file, settings);
            runAs.own(file);
        } catch (IOException e) {
            throw new DeltaforgeException("cannot write settings into " + dataDir + ": " + e.getMessage(), e);
        }
    }

    /** Copies a stopped server's data directory, leaving out what pg_basebackup leaves out. */
    private static void copyData(Path from, Path to) {
        Set<String> skipped = Set.of("postmaster.pid", "postmaster.opts");
        try (Stream<Path> files = Files.walk(from)) {
            for (Path source : (Iterable<Path>) files::iterator) {
                Path relative = from.relativize(source);
                if (skipped.contains(relative.toString())
                        || (relative.getNameCount() > 1 && relative.getName(0).toString().equals("pg_replslot"))) {
                    continue;
                }
                Files.copy(source, to.resolve(relative.toString()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        } catch (IOException e) {
            throw new DeltaforgeException("cannot copy " + from + " to " + to + ": " + e.getMessage(), e);
        }
    }

    /** Starts the server and waits until it accepts SQL; returns null on success or a problem description. */
    private @Nullable String tryStart() {
        Procs.Result r = pgCtl(List.of("-l", logFile.toString(), "-w", "-t",
                Long.toString(START_TIMEOUT.toSeconds()), "start"));
        if (!r.ok()) {
            // pg_ctl may give up while a slow postmaster is still coming up; never leave it running.
            pgCtl(List.of("-m", "immediate", "-w", "stop"));
            return "pg_ctl start exit " + r.exitCode() + ": " + r.output().strip() + "\n" + Procs.tail(logFile, 30);
        }
        running = true;
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        SQLException last = null;
        while (System.nanoTime() < deadline) {
            try (Connection c = connect()) {
                if (c.isValid(5)) {
                    return null;
                }
            } catch (SQLException e) {
                last = e;
            }
            Procs.sleep(100);
        }
        return "server started but JDBC login failed: " + (last == null ? "timeout" : last.getMessage())
                + "\n" + Procs.tail(logFile, 30);
    }

    private Procs.Result pgCtl(List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(bin.resolve("pg_ctl").toString());
        command.add("-D");
        command.add(dataDir.toString());
        command.addAll(args);
        return Procs.run(runAs.wrap(command), root, START_TIMEOUT.plusSeconds(30));
    }

    private Properties connectionProperties() {
        Properties props = new Properties();
        props.setProperty("user", USER);
        props.setProperty("password", PASSWORD);
        props.setProperty("connectTimeout", "10");
        return props;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("PostgresServer on port " + port + " is closed");
        }
    }

    private static String abbreviate(String sql) {
        return sql.length() <= 500 ? sql : sql.substring(0, 500) + "...";
    }

    /** Stops clusters whose owning JVM died without running its shutdown hook, then deletes them. */
    private static void stopOrphans(Path bin, RunAs runAs, Path base) {
        for (Path dir : TempDirs.orphans(base, PREFIX)) {
            Path data = dir.resolve("data");
            if (Files.exists(data.resolve("postmaster.pid"))) {
                try {
                    Procs.run(runAs.wrap(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(),
                            "-m", "immediate", "-w", "stop")), base, STOP_TIMEOUT);
                } catch (RuntimeException ignored) {
                    // opportunistic cleanup must never fail a test
                }
            }
            Procs.deleteRecursively(dir);
        }
    }
}
