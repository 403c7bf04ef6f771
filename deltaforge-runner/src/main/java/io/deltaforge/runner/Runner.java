package io.deltaforge.runner;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.SinkBinding;
import io.deltaforge.runner.internal.OpsServer;
import io.deltaforge.runner.internal.ProgressReporter;
import io.deltaforge.runner.internal.Supervisor;
import io.deltaforge.yaml.PipelineConfigLoader;
import io.deltaforge.yaml.PipelineDefinition;
import io.deltaforge.yaml.YamlConfigException;
import io.deltaforge.yaml.internal.Causes;
import io.deltaforge.yaml.internal.SecretFiles;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The {@code deltaforge} command line: runs or validates the pipelines of {@code deltaforge/v1} YAML files.
 *
 * <pre>
 * deltaforge validate --config pipelines.yaml     # exit 0 and "ok: 1 pipeline(s) valid", or 2 and the problems
 * deltaforge validate --config p.yaml --check-connections   # also connects; exit 1 when a check fails
 * deltaforge run --config /etc/deltaforge/        # runs until SIGINT/SIGTERM, then stops gracefully, exit 0
 * deltaforge run --config p.yaml --metrics-port 9464   # plus /health, /ready and /metrics on 127.0.0.1
 * deltaforge --version
 * </pre>
 *
 * <p>Exit codes: 0 success, 1 a pipeline (or a connection check) failed (the cause on one line; a stack trace too when
 * {@code DELTAFORGE_DEBUG} is set), 2 bad usage or configuration (one line per problem).
 */
public final class Runner {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;
    private static final Duration DEFAULT_DRAIN = Duration.ofSeconds(30);

    private static final Duration DEFAULT_PROGRESS = Duration.ofSeconds(30);

    private static final String USAGE_TEXT = """
            Usage: deltaforge <command> [options]

            Commands:
              run --config FILE|DIR        start the pipelines and run until SIGINT/SIGTERM
              validate --config FILE|DIR   check the configuration (without connecting, unless --check-connections)

            Options:
              -c, --config FILE|DIR        a YAML file (several pipelines separated by ---) or a directory of
                                           *.yaml/*.yml files; may be repeated; default: $DELTAFORGE_CONFIG
              --metrics-port N             run: serve /health, /ready and /metrics over HTTP on port N
                                           (0 picks a free port; default $DELTAFORGE_METRICS_PORT, else off)
              --metrics-bind ADDRESS       run: the address to listen on (default $DELTAFORGE_METRICS_BIND,
                                           else 127.0.0.1, this host only; 0.0.0.0 for every interface)
              --ops-token-file PATH        run: a file holding the token that POST /pipelines/NAME/pause,
                                           resume and snapshot require as 'Authorization: Bearer <token>';
                                           without a token (this or $DELTAFORGE_OPS_TOKEN[_FILE]) they are off
              --progress-interval SECONDS  run: log each pipeline's progress this often (default 30; 0 = never)
              --drain-timeout SECONDS      run: how long stopping may wait for deliveries (default 30)
              --check-connections          validate: also connect to each source and sink and check their setup
                                           (publication, slot, privileges, stream), changing nothing
              -h, --help                   show this help
              -V, --version                show the version

            Environment:
              ${VAR} and ${VAR:-default} in YAML values are replaced from the environment, ${file:/path} by
              the file's content without trailing line breaks (for secrets); $${ is a literal ${.
              DELTAFORGE_CONFIG            the configuration when --config is not given
              DELTAFORGE_METRICS_PORT      the HTTP port when --metrics-port is not given
              DELTAFORGE_METRICS_BIND      the HTTP address when --metrics-bind is not given
              DELTAFORGE_OPS_TOKEN         the token for pause, resume and snapshot over HTTP
              DELTAFORGE_OPS_TOKEN_FILE    a file holding it (trailing line breaks removed); overridden by
                                           --ops-token-file, exclusive with DELTAFORGE_OPS_TOKEN
              DELTAFORGE_DEBUG=1           print stack traces with errors
              DELTAFORGE_JAVA_OPTS         JVM options for the launcher script

            Exit codes: 0 ok, 1 a pipeline failed, 2 bad usage or configuration.
            """;

    private Runner() {
    }

    public static void main(String[] args) {
        int code = execute(args, System.out, System.err, System::getenv);
        System.out.flush();
        System.err.flush();
        System.exit(code);
    }

    /**
     * Runs a command as {@link #main} does, without exiting: for tests and embedding.
     *
     * @param env environment lookup (null when unset), for interpolation and {@code DELTAFORGE_*} settings
     * @return the exit code
     */
    public static int execute(String[] args, PrintStream out, PrintStream err, Function<String, @Nullable String> env) {
        return execute(args, out, err, env, Control.PROCESS);
    }

    /**
     * How a run is stopped and watched: by signals in the real process; by a future in tests.
     *
     * @param stopRequested completes to stop the pipelines; null: SIGINT/SIGTERM do it
     * @param httpStarted   told where the HTTP server listens, once it does
     */
    record Control(@Nullable CompletableFuture<Void> stopRequested, Consumer<InetSocketAddress> httpStarted) {
        static final Control PROCESS = new Control(null, a -> { });
    }

    static int execute(String[] args, PrintStream out, PrintStream err, Function<String, @Nullable String> env,
                       Control control) {
        Objects.requireNonNull(args, "args");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(err, "err");
        Objects.requireNonNull(env, "env");
        if (args.length == 0) {
            err.print(USAGE_TEXT);
            return USAGE;
        }
        String command = args[0];
        switch (command) {
            case "-h", "--help", "help" -> {
                out.print(USAGE_TEXT);
                return OK;
            }
            case "-V", "--version", "version" -> {
                out.println("deltaforge " + version());
                return OK;
            }
            case "run", "validate" -> {
                // handled below
            }
            default -> {
                err.println("error: unknown command '" + command + "'; expected run, validate, --help or --version");
                return USAGE;
            }
        }
        Options options;
        try {
            options = Options.parse(command, args, env);
        } catch (IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            return USAGE;
        }
        if (options.help()) {
            out.print(USAGE_TEXT);
            return OK;
        }
        boolean debug = isSet(env.apply("DELTAFORGE_DEBUG"));

        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        List<PipelineDefinition> definitions;
        List<Pipeline> pipelines = new ArrayList<>();
        try {
            definitions = PipelineConfigLoader.create().withEnvironment(env).definitions(options.configs());
            for (PipelineDefinition d : definitions) {
                pipelines.add(d.toBuilder().meterRegistry(registry).build());
            }
        } catch (YamlConfigException e) {
            e.located().forEach(err::println);
            return USAGE;
        } catch (ConfigException e) {
            e.problems().forEach(err::println);
            return USAGE;
        } catch (RuntimeException e) {
            err.println("error: cannot load the configuration: " + Causes.oneLine(e));
            if (debug) {
                e.printStackTrace(err);
            }
            return FAILED;
        }
        if (command.equals("validate")) {
            out.println("ok: " + pipelines.size() + " pipeline(s) valid");
            return options.checkConnections() ? checkConnections(definitions, out, err, debug) : OK;
        }
        bindJvmMetrics(registry);
        OpsServer http = null;
        if (options.metricsPort() != null) {
            InetSocketAddress address = new InetSocketAddress(options.metricsBind(), options.metricsPort());
            try {
                http = OpsServer.start(address, pipelines, registry, options.opsToken());
            } catch (IOException | RuntimeException e) {
                err.println("error: cannot serve HTTP on " + options.metricsBind() + ":" + options.metricsPort()
                        + ": " + Causes.oneLine(e) + "; choose another --metrics-port");
                return FAILED;
            }
            control.httpStarted().accept(http.address());
        }
        ProgressReporter progress = options.progressInterval().isZero() ? null
                : ProgressReporter.start(pipelines, options.progressInterval());
        try {
            return run(pipelines, err, debug, options.drainTimeout(), control);
        } finally {
            if (progress != null) {
                progress.close();
            }
            if (http != null) {
                http.close();
            }
            registry.close();
        }
    }

    /**
     * Asks every source and sink to check its connection and setup without changing anything; prints one
     * line per component and its notes. Exit 1 when any check failed.
     */
    private static int checkConnections(List<PipelineDefinition> definitions, PrintStream out, PrintStream err,
                                        boolean debug) {
        int failed = 0;
        for (PipelineDefinition d : definitions) {
            List<ComponentCheck> checks = new ArrayList<>();
            checks.add(new ComponentCheck("source '" + d.source().id() + "'", d.source()::check));
            for (SinkBinding b : d.sinks()) {
                checks.add(new ComponentCheck("sink '" + b.sink().id() + "'", b.sink()::check));
            }
            for (ComponentCheck check : checks) {
                String what = "pipeline '" + d.name() + "': " + check.what();
                try {
                    List<String> notes = check.run().get();
                    out.println("ok: " + what + " reachable and usable");
                    notes.forEach(n -> out.println("  note: " + n));
                } catch (UnsupportedOperationException e) {
                    out.println("skipped: " + what + ": " + e.getMessage());
                } catch (RuntimeException e) {
                    failed++;
                    err.println("error: " + what + ": " + Causes.oneLine(e));
                    if (debug) {
                        e.printStackTrace(err);
                    }
                }
            }
        }
        if (failed > 0) {
            err.println("error: " + failed + " connection check(s) failed");
            return FAILED;
        }
        return OK;
    }

    private record ComponentCheck(String what, Supplier<List<String>> run) {
    }

    private static void bindJvmMetrics(PrometheusMeterRegistry registry) {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    private static int run(List<Pipeline> pipelines, PrintStream err, boolean debug, Duration drainTimeout,
                           Control control) {
        Supervisor supervisor = new Supervisor(err, debug, drainTimeout);
        if (control.stopRequested() != null) {
            return supervisor.run(pipelines, control.stopRequested());
        }
        CompletableFuture<Void> stopRequested = new CompletableFuture<>();
        CompletableFuture<Integer> finished = new CompletableFuture<>();
        // On SIGINT/SIGTERM the JVM runs this hook; it lets the supervisor stop the pipelines gracefully and
        // then ends the process with the supervisor's exit code instead of the signal's 130/143.
        Thread hook = new Thread(() -> {
            stopRequested.complete(null);
            int code;
            try {
                code = finished.get(supervisor.stopBound().plusSeconds(5).toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                err.println("error: the pipelines did not stop within " + supervisor.stopBound().toSeconds()
                        + "s; exiting anyway");
                code = FAILED;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                code = FAILED;
            } catch (Exception e) {
                code = FAILED;
            }
            System.out.flush();
            err.flush();
            Runtime.getRuntime().halt(code);
        }, "deltaforge-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        int code = FAILED;
        try {
            code = supervisor.run(pipelines, stopRequested);
            return code;
        } finally {
            finished.complete(code);
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The hook is running already and exits with our code.
            }
        }
    }

    static String version() {
        try (InputStream in = Runner.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                String v = p.getProperty("version");
                if (v != null && !v.isBlank() && !v.startsWith("${")) {
                    return v;
                }
            }
        } catch (IOException e) {
            // fall through: an unknown version is no reason to fail
        }
        return "unknown";
    }

    private static boolean isSet(@Nullable String value) {
        if (value == null) {
            return false;
        }
        String v = value.trim().toLowerCase(Locale.ROOT);
        return !v.isEmpty() && !v.equals("0") && !v.equals("false") && !v.equals("no");
    }

    /** The options of run and validate. */
    private record Options(List<Path> configs, Duration drainTimeout, boolean help, @Nullable Integer metricsPort,
                           String metricsBind, @Nullable String opsToken, Duration progressInterval,
                           boolean checkConnections) {
        static Options parse(String command, String[] args, Function<String, @Nullable String> env) {
            List<Path> configs = new ArrayList<>();
            Duration drain = DEFAULT_DRAIN;
            Duration progress = DEFAULT_PROGRESS;
            Integer port = null;
            String bind = null;
            String tokenFile = null;
            boolean help = false;
            boolean check = false;
            boolean run = command.equals("run");
            for (int i = 1; i < args.length; i++) {
                String a = args[i];
                String value = null;
                String name = a;
                int eq = a.indexOf('=');
                if (a.startsWith("--") && eq > 0) {
                    name = a.substring(0, eq);
                    value = a.substring(eq + 1);
                }
                switch (name) {
                    case "-c", "--config" -> {
                        if (value == null) {
                            value = next(args, ++i, name);
                        }
                        if (value.isBlank()) {
                            throw new IllegalArgumentException(name + " needs a file or directory");
                        }
                        configs.add(Path.of(value));
                    }
                    case "--drain-timeout" -> {
                        runOnly(name, run);
                        value = value == null ? next(args, ++i, name) : value;
                        drain = Duration.ofSeconds(number(name, value, 1, 3600, "a number of seconds from 1 to 3600"));
                    }
                    case "--progress-interval" -> {
                        runOnly(name, run);
                        value = value == null ? next(args, ++i, name) : value;
                        progress = Duration.ofSeconds(number(name, value, 0, 86_400,
                                "a number of seconds from 0 (never) to 86400"));
                    }
                    case "--metrics-port" -> {
                        runOnly(name, run);
                        value = value == null ? next(args, ++i, name) : value;
                        port = (int) number(name, value, 0, 65_535, "a port from 0 (any free port) to 65535");
                    }
                    case "--metrics-bind" -> {
                        runOnly(name, run);
                        value = value == null ? next(args, ++i, name) : value;
                        bind = address(name, value);
                    }
                    case "--ops-token-file" -> {
                        runOnly(name, run);
                        value = value == null ? next(args, ++i, name) : value;
                        if (value.isBlank()) {
                            throw new IllegalArgumentException("--ops-token-file needs a file, e.g. "
                                    + "/run/secrets/deltaforge-ops-token");
                        }
                        tokenFile = value;
                    }
                    case "--check-connections" -> {
                        if (run) {
                            throw new IllegalArgumentException("--check-connections is an option of validate only");
                        }
                        check = true;
                    }
                    case "-h", "--help" -> help = true;
                    default -> throw new IllegalArgumentException("unknown option '" + a + "' for " + command
                            + "; expected --config FILE|DIR" + (run ? ", --metrics-port N, --metrics-bind ADDRESS, "
                            + "--ops-token-file PATH, --progress-interval SECONDS or --drain-timeout SECONDS"
                            : " or --check-connections")
                            + " (see --help)");
                }
            }
            if (configs.isEmpty() && !help) {
                String fromEnv = env.apply("DELTAFORGE_CONFIG");
                if (fromEnv == null || fromEnv.isBlank()) {
                    throw new IllegalArgumentException("no configuration; pass --config FILE|DIR or set "
                            + "DELTAFORGE_CONFIG");
                }
                configs.add(Path.of(fromEnv));
            }
            String portFromEnv = env.apply("DELTAFORGE_METRICS_PORT");
            if (run && port == null && portFromEnv != null && !portFromEnv.isBlank()) {
                port = (int) number("DELTAFORGE_METRICS_PORT", portFromEnv, 0, 65_535,
                        "a port from 0 (any free port) to 65535");
            }
            String bindFromEnv = env.apply("DELTAFORGE_METRICS_BIND");
            if (bind == null) {
                bind = bindFromEnv == null || bindFromEnv.isBlank() ? "127.0.0.1"
                        : address("DELTAFORGE_METRICS_BIND", bindFromEnv);
            }
            String token = run ? opsToken(tokenFile, env) : null;
            return new Options(List.copyOf(configs), drain, help, port, bind, token, progress, check);
        }

        private static String address(String option, String value) {
            if (value.isBlank()) {
                throw new IllegalArgumentException(option + " needs an address, e.g. 127.0.0.1, or 0.0.0.0 for "
                        + "every interface");
            }
            return value.trim();
        }

        /**
         * The ops token: from {@code --ops-token-file}, else {@code DELTAFORGE_OPS_TOKEN} or (not both)
         * {@code DELTAFORGE_OPS_TOKEN_FILE}, the {@code _FILE} convention of container images for secrets.
         * Errors never show the token.
         */
        private static @Nullable String opsToken(@Nullable String flagFile, Function<String, @Nullable String> env) {
            String direct = blankToNull(env.apply("DELTAFORGE_OPS_TOKEN"));
            String envFile = blankToNull(env.apply("DELTAFORGE_OPS_TOKEN_FILE"));
            String origin;
            String token;
            if (flagFile != null) {
                origin = "--ops-token-file " + flagFile;
                token = secretFile("--ops-token-file", flagFile);
            } else if (direct != null && envFile != null) {
                throw new IllegalArgumentException("DELTAFORGE_OPS_TOKEN and DELTAFORGE_OPS_TOKEN_FILE are both set; "
                        + "set only one");
            } else if (envFile != null) {
                origin = "DELTAFORGE_OPS_TOKEN_FILE " + envFile;
                token = secretFile("DELTAFORGE_OPS_TOKEN_FILE", envFile);
            } else if (direct != null) {
                origin = "DELTAFORGE_OPS_TOKEN";
                token = direct;
            } else {
                return null;
            }
            if (token.isBlank()) {
                throw new IllegalArgumentException("the ops token from " + origin + " is empty");
            }
            if (token.chars().anyMatch(c -> Character.isWhitespace(c) || Character.isISOControl(c))) {
                throw new IllegalArgumentException("the ops token from " + origin + " holds spaces or control "
                        + "characters, which an Authorization header cannot carry; use e.g. the output of "
                        + "'openssl rand -hex 32'");
            }
            return token;
        }

        private static String secretFile(String option, String file) {
            try {
                return SecretFiles.read(file);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(option + ": " + e.getMessage());
            }
        }

        private static @Nullable String blankToNull(@Nullable String value) {
            return value == null || value.isBlank() ? null : value;
        }

        private static void runOnly(String option, boolean run) {
            if (!run) {
                throw new IllegalArgumentException(option + " is an option of run only");
            }
        }

        private static long number(String option, String value, long min, long max, String expected) {
            long n;
            try {
                n = Long.parseLong(value.trim());
            } catch (NumberFormatException e) {
                n = Long.MIN_VALUE;
            }
            if (n < min || n > max) {
                throw new IllegalArgumentException(option + ": '" + value + "' is not " + expected);
            }
            return n;
        }

        private static String next(String[] args, int i, String option) {
            if (i >= args.length) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            return args[i];
        }
    }
}
