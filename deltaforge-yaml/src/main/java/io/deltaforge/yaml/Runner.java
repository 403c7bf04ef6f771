package io.deltaforge.yaml;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.Pipeline;
import io.deltaforge.yaml.internal.Causes;
import io.deltaforge.yaml.internal.Supervisor;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
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
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The {@code deltaforge} command line: runs or validates the pipelines of {@code deltaforge/v1} YAML files.
 *
 * <pre>
 * deltaforge validate --config pipelines.yaml     # exit 0 and "ok: 1 pipeline(s) valid", or 2 and the problems
 * deltaforge run --config /etc/deltaforge/        # runs until SIGINT/SIGTERM, then stops gracefully, exit 0
 * deltaforge --version
 * </pre>
 *
 * <p>Exit codes: 0 success, 1 a pipeline failed (the cause on one line; a stack trace too when
 * {@code DELTAFORGE_DEBUG} is set), 2 bad usage or configuration (one line per problem).
 */
public final class Runner {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;
    private static final Duration DEFAULT_DRAIN = Duration.ofSeconds(30);

    private static final String USAGE_TEXT = """
            Usage: deltaforge <command> [options]

            Commands:
              run --config FILE|DIR        start the pipelines and run until SIGINT/SIGTERM
              validate --config FILE|DIR   check the configuration without connecting anywhere

            Options:
              -c, --config FILE|DIR        a YAML file (several pipelines separated by ---) or a directory of
                                           *.yaml/*.yml files; may be repeated; default: $DELTAFORGE_CONFIG
              --drain-timeout SECONDS      run: how long stopping may wait for deliveries (default 30)
              -h, --help                   show this help
              -V, --version                show the version

            Environment:
              ${VAR} and ${VAR:-default} in YAML values are replaced from the environment.
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

        List<Pipeline> pipelines;
        try {
            pipelines = PipelineConfigLoader.create().withEnvironment(env).load(options.configs());
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
            return OK;
        }
        return run(pipelines, err, debug, options.drainTimeout());
    }

    private static int run(List<Pipeline> pipelines, PrintStream err, boolean debug, Duration drainTimeout) {
        Supervisor supervisor = new Supervisor(err, debug, drainTimeout);
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
    private record Options(List<Path> configs, Duration drainTimeout, boolean help) {
        static Options parse(String command, String[] args, Function<String, @Nullable String> env) {
            List<Path> configs = new ArrayList<>();
            Duration drain = DEFAULT_DRAIN;
            boolean help = false;
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
                        if (!command.equals("run")) {
                            throw new IllegalArgumentException("--drain-timeout is an option of run only");
                        }
                        if (value == null) {
                            value = next(args, ++i, name);
                        }
                        long secs;
                        try {
                            secs = Long.parseLong(value.trim());
                        } catch (NumberFormatException e) {
                            secs = -1;
                        }
                        if (secs < 1 || secs > 3600) {
                            throw new IllegalArgumentException("--drain-timeout: '" + value
                                    + "' is not a number of seconds from 1 to 3600");
                        }
                        drain = Duration.ofSeconds(secs);
                    }
                    case "-h", "--help" -> help = true;
                    default -> throw new IllegalArgumentException("unknown option '" + a + "' for " + command
                            + "; expected --config FILE|DIR" + (command.equals("run") ? " or --drain-timeout SECONDS"
                            : "") + " (see --help)");
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
            return new Options(List.copyOf(configs), drain, help);
        }

        private static String next(String[] args, int i, String option) {
            if (i >= args.length) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            return args[i];
        }
    }
}
