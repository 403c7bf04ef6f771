package io.deltaforge.examples.benchmark;

import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.ErrorListener;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The soak of issue 19 ({@code ./dev.sh bench --soak}): the runner ({@code ./deltaforge run}) in its own
 * process with a plain YAML file and default batch settings, a paced load of single-row transactions,
 * and PostgreSQL and nats-server restarted in turn every {@code --restart-interval} seconds, for
 * {@code --minutes}. It samples the runner's resident set, times how long the stream takes to catch up
 * after each restart, and at the end checks every committed row is in the stream exactly once. Bounded in
 * time; everything it starts is stopped on the way out, failure or Ctrl-C included.
 */
final class Soak {
    private static final String STREAM = "SOAK";
    private static final String RUNNER_HEAP = "-Xmx256m";
    private static final Duration STARTUP_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(5);

    private record Settings(int minutes, int rate, int restartIntervalSeconds, int rssIntervalSeconds,
                            int writers, Path deltaforge, Path out) {
        static Settings parse(List<String> args) {
            return new Settings(intArg(args, "--minutes", 30), intArg(args, "--rate", 1000),
                    intArg(args, "--restart-interval", 180), intArg(args, "--rss-interval", 15),
                    intArg(args, "--writers", 4), Path.of(stringArg(args, "--deltaforge", "../../deltaforge")),
                    Path.of(stringArg(args, "--out", "target/soak-results.json")));
        }

        private static String stringArg(List<String> args, String name, String fallback) {
            int i = args.indexOf(name);
            if (i < 0) {
                return fallback;
            }
            if (i + 1 >= args.size()) {
                throw new IllegalArgumentException(name + " needs a value");
            }
            return args.get(i + 1);
        }

        private static int intArg(List<String> args, String name, int fallback) {
            String value = stringArg(args, name, Integer.toString(fallback));
            try {
                int n = Integer.parseInt(value);
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException ignored) {
                // reported below
            }
            throw new IllegalArgumentException(name + " must be a positive whole number, was '" + value + "'");
        }
    }

    private record Restart(int number, String server, double atSeconds, double downSeconds) {
    }

    private record RssSample(double atSeconds, double mb) {
    }

    private final Settings settings;
    private final Map<String, Object> results = new LinkedHashMap<>();
    private final List<Restart> restarts = new ArrayList<>();
    private final List<RssSample> rss = new ArrayList<>();

    private Soak(Settings settings) {
        this.settings = settings;
    }

    /** Runs the soak and prints its summary; true when no row was lost, duplicated or phantom. */
    static boolean run(List<String> args) throws Exception {
        return new Soak(Settings.parse(args)).run();
    }

    private boolean run() throws Exception {
        if (!Files.isExecutable(settings.deltaforge())) {
            throw new IllegalArgumentException("--deltaforge " + settings.deltaforge() + " is not the executable"
                    + " ./deltaforge script; run the soak through ./dev.sh bench --soak or pass its path");
        }
        Path work = Files.createDirectories(Path.of("target", "soak"));
        Path log = work.resolve("runner.log");
        Files.deleteIfExists(log);
        results.put("machine", Benchmark.machine());
        results.put("settings", Map.of("minutes", settings.minutes(), "rate_tx_per_s", settings.rate(),
                "restart_interval_s", settings.restartIntervalSeconds(), "writers", settings.writers()));
        try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start()) {
            results.put("postgres", pg.queryString("SHOW server_version"));
            SoakLoad.createTable(pg);
            String javaOpts = System.getenv().getOrDefault("DELTAFORGE_JAVA_OPTS", RUNNER_HEAP);
            results.put("runner_java_opts", javaOpts);
            Map<String, String> env = Map.of("POSTGRES_DSN", pg.dsn(), "NATS_URL", nats.url(),
                    "DELTAFORGE_JAVA_OPTS", javaOpts);
            try (SoakRunner runner = SoakRunner.start(settings.deltaforge(), writeConfig(work), env, log);
                 Connection nc = Nats.connect(new Options.Builder().server(nats.url()).maxReconnects(-1)
                         .reconnectWait(Duration.ofMillis(250)).connectionTimeout(Duration.ofSeconds(5))
                         .errorListener(new ErrorListener() { }) // the restarts are expected: no SEVERE lines
                         .build());
                 CatchUpWatch watch = new CatchUpWatch(nc, STREAM)) {
                if (!runner.awaitLog("streaming", STARTUP_TIMEOUT)) {
                    throw new IllegalStateException("the runner did not start streaming within " + STARTUP_TIMEOUT
                            + "; the end of " + log.toAbsolutePath() + ":\n" + runner.logTail(30));
                }
                System.out.printf(Locale.ROOT, "soak: runner pid %d streaming; %d tx/s for %d min, a restart every"
                                + " %d s (PostgreSQL first), runner log %s%n", runner.pid(), settings.rate(),
                        settings.minutes(), settings.restartIntervalSeconds(), log.toAbsolutePath());
                SoakLoad load = new SoakLoad(pg, settings.rate(), settings.writers());
                long t0 = System.nanoTime();
                try {
                    load.start();
                    loop(pg, nats, runner, load, watch, t0);
                } finally {
                    load.stop();
                }
                double loadSeconds = (System.nanoTime() - t0) / 1e9;
                summarizeLoad(load, loadSeconds);
                awaitDrained(pg, runner, watch);
                StreamAudit audit = StreamAudit.run(nc, STREAM, pg, SoakLoad.TABLE);
                summarizeRestarts(watch);
                int exit = runner.stop(Duration.ofSeconds(30));
                return report(audit, exit);
            }
        }
    }

    private Path writeConfig(Path work) throws Exception {
        // Only what a user must write: no batch, retry or timeout settings, the defaults throughout.
        return Files.writeString(work.resolve("soak.yaml"), """
                apiVersion: deltaforge/v1
                kind: Pipeline
                metadata:
                  name: soak
                spec:
                  source:
                    type: postgres
                    config:
                      id: soak-postgres
                      dsn: ${POSTGRES_DSN}
                      slot: soak_slot
                      publication: %s
                  sinks:
                    - type: nats
                      config:
                        id: soak-nats
                        url: ${NATS_URL}
                        subject: soak.rows
                        stream: %s
                        create_stream: true
                        envelope:
                          type: cloudevents
                          type_prefix: com.acme.soak
                """.formatted(SoakLoad.PUBLICATION, STREAM));
    }

    /** Until the time is up: RSS samples, and PostgreSQL and nats-server restarted in turn. */
    private void loop(PostgresServer pg, NatsServer nats, SoakRunner runner, SoakLoad load, CatchUpWatch watch,
                      long t0) throws Exception {
        long end = t0 + TimeUnit.MINUTES.toNanos(settings.minutes());
        long rssEvery = TimeUnit.SECONDS.toNanos(settings.rssIntervalSeconds());
        long restartEvery = TimeUnit.SECONDS.toNanos(settings.restartIntervalSeconds());
        long nextSample = t0;
        long nextRestart = t0 + restartEvery;
        long now;
        while ((now = System.nanoTime()) < end) {
            if (!runner.isAlive()) {
                throw new IllegalStateException("the runner exited during the soak; the end of its log:\n"
                        + runner.logTail(30));
            }
            if (now >= nextSample) {
                sampleRss(runner, load, watch, t0);
                nextSample += rssEvery;
            }
            if (nextRestart < end && now >= nextRestart) {
                restart(pg, nats, load, watch, t0);
                nextRestart += restartEvery;
                continue;
            }
            long wake = Math.min(Math.min(nextSample, nextRestart), end);
            TimeUnit.NANOSECONDS.sleep(Math.max(TimeUnit.MILLISECONDS.toNanos(1),
                    Math.min(wake - now, TimeUnit.SECONDS.toNanos(1))));
        }
        sampleRss(runner, load, watch, t0);
    }

    private void sampleRss(SoakRunner runner, SoakLoad load, CatchUpWatch watch, long t0) {
        double at = Benchmark.round((System.nanoTime() - t0) / 1e9);
        double mb = Benchmark.round(runner.rssKb() / 1024.0);
        rss.add(new RssSample(at, mb));
        System.out.printf(Locale.ROOT, "soak %6.0f s: %,d tx committed, %,d in the stream, runner RSS %.0f MB%n",
                at, load.committed(), watch.count(), mb);
    }

    private void restart(PostgresServer pg, NatsServer nats, SoakLoad load, CatchUpWatch watch, long t0) {
        int number = restarts.size() + 1;
        boolean postgres = number % 2 == 1;
        long down = System.nanoTime();
        if (postgres) {
            pg.restart(); // fast shutdown, then the same port and data directory
        } else {
            nats.stop(); // SIGTERM, then the same port and store directory
            nats.startAgain();
        }
        long back = System.nanoTime();
        // One row more than committed now: the first row written after the restart must have come
        // through too, so a source that has not yet noticed the restart is not caught up.
        watch.expect(number, load.committed() + 1, back);
        Restart r = new Restart(number, postgres ? "postgresql" : "nats", Benchmark.round((down - t0) / 1e9),
                Benchmark.round((back - down) / 1e9));
        restarts.add(r);
        System.out.printf(Locale.ROOT, "soak %6.0f s: restarted %s (down %.1f s)%n", r.atSeconds(), r.server(),
                r.downSeconds());
    }

    private void summarizeLoad(SoakLoad load, double seconds) {
        results.put("load_seconds", Benchmark.round(seconds));
        results.put("tx_committed", load.committed());
        results.put("achieved_tx_per_s", Benchmark.round(load.committed() / seconds));
        results.put("tx_failed", load.failed());
        if (load.failed() > 0) {
            results.put("last_insert_error", load.lastError());
        }
    }

    /** Waits until the stream holds as many messages as the table holds rows (the load has stopped). */
    private void awaitDrained(PostgresServer pg, SoakRunner runner, CatchUpWatch watch) throws Exception {
        long rows = Long.parseLong(pg.queryString("SELECT count(*) FROM " + SoakLoad.TABLE));
        long t0 = System.nanoTime();
        long deadline = t0 + DRAIN_TIMEOUT.toNanos();
        while (watch.count() < rows && System.nanoTime() < deadline && runner.isAlive()) {
            Thread.sleep(100);
        }
        results.put("final_drain_seconds", Benchmark.round((System.nanoTime() - t0) / 1e9));
        if (watch.count() < rows) {
            System.out.printf(Locale.ROOT, "soak: the stream holds %,d messages for %,d rows after %s; auditing"
                    + " anyway%n", watch.count(), rows, DRAIN_TIMEOUT);
        }
    }

    private void summarizeRestarts(CatchUpWatch watch) {
        List<Map<String, Object>> list = new ArrayList<>();
        Map<String, Double> maxCatchUp = new LinkedHashMap<>();
        for (Restart r : restarts) {
            Double catchUp = watch.caughtUpSeconds(r.number());
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("server", r.server());
            m.put("at_s", r.atSeconds());
            m.put("down_s", r.downSeconds());
            m.put("catch_up_s", catchUp == null ? "never" : catchUp);
            list.add(m);
            maxCatchUp.merge(r.server(), catchUp == null ? Double.POSITIVE_INFINITY : catchUp, Math::max);
        }
        results.put("restarts", list);
        results.put("restarts_postgresql", restarts.stream().filter(r -> r.server().equals("postgresql")).count());
        results.put("restarts_nats", restarts.stream().filter(r -> r.server().equals("nats")).count());
        maxCatchUp.forEach((server, s) -> results.put("max_catch_up_s_" + server, s.isInfinite() ? "never" : s));
    }

    private boolean report(StreamAudit audit, int runnerExit) throws Exception {
        results.put("rows_in_table", audit.rowsInTable());
        results.put("stream_events", audit.messages());
        results.put("lost", audit.lost());
        results.put("duplicates", audit.duplicates());
        results.put("phantoms", audit.phantoms());
        results.put("other_events", audit.foreign());
        results.put("rss_first_mb", rss.get(0).mb());
        results.put("rss_min_mb", rss.stream().mapToDouble(RssSample::mb).min().orElse(0));
        results.put("rss_max_mb", rss.stream().mapToDouble(RssSample::mb).max().orElse(0));
        results.put("rss_last_mb", rss.get(rss.size() - 1).mb());
        results.put("rss_slope_mb_per_h_second_half", Benchmark.round(slopePerHour(
                rss.subList(rss.size() / 2, rss.size()))));
        results.put("rss_samples", rss.stream().map(s -> List.of(s.atSeconds(), s.mb())).toList());
        results.put("runner_exit_code_on_sigterm", runnerExit);
        results.put("load_avg_1m_at_end", Benchmark.machine().get("load_avg_1m"));
        boolean ok = audit.lost() == 0 && audit.duplicates() == 0 && audit.phantoms() == 0;
        results.put("passed", ok);

        System.out.println();
        System.out.println("DeltaForge soak (" + settings.minutes() + " min, " + settings.rate() + " tx/s, a restart every "
                + settings.restartIntervalSeconds() + " s)");
        System.out.println("-".repeat(72));
        results.forEach((k, v) -> {
            if (!k.equals("rss_samples")) {
                System.out.printf(Locale.ROOT, "%-32s %s%n", k, v);
            }
        });
        System.out.println("-".repeat(72));
        System.out.println("RESULT soak minutes=" + settings.minutes() + " rate=" + settings.rate()
                + " tx=" + results.get("tx_committed") + " achieved_tx_per_s=" + results.get("achieved_tx_per_s")
                + " stream_events=" + audit.messages() + " lost=" + audit.lost() + " duplicates=" + audit.duplicates()
                + " phantoms=" + audit.phantoms() + " rss_first_mb=" + results.get("rss_first_mb")
                + " rss_min_mb=" + results.get("rss_min_mb") + " rss_max_mb=" + results.get("rss_max_mb")
                + " rss_last_mb=" + results.get("rss_last_mb") + " rss_slope_mb_per_h="
                + results.get("rss_slope_mb_per_h_second_half") + " restarts_postgresql="
                + results.get("restarts_postgresql") + " restarts_nats=" + results.get("restarts_nats")
                + " max_catch_up_s_postgresql=" + results.getOrDefault("max_catch_up_s_postgresql", "-")
                + " max_catch_up_s_nats=" + results.getOrDefault("max_catch_up_s_nats", "-")
                + " passed=" + ok);
        Path out = settings.out().toAbsolutePath();
        Files.createDirectories(out.getParent());
        Files.writeString(out, Json.write(results) + "\n");
        System.out.println("results written to " + out);
        return ok;
    }

    /** Least-squares slope of the samples, in MB per hour; 0 with fewer than two. */
    private static double slopePerHour(List<RssSample> samples) {
        int n = samples.size();
        if (n < 2) {
            return 0;
        }
        double mt = samples.stream().mapToDouble(RssSample::atSeconds).average().orElse(0);
        double mm = samples.stream().mapToDouble(RssSample::mb).average().orElse(0);
        double cov = 0;
        double var = 0;
        for (RssSample s : samples) {
            cov += (s.atSeconds() - mt) * (s.mb() - mm);
            var += (s.atSeconds() - mt) * (s.atSeconds() - mt);
        }
        return var == 0 ? 0 : cov / var * 3600;
    }
}
