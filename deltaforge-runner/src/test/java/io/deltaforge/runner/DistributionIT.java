package io.deltaforge.runner;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The distribution archive as a user gets it: unpacked into an empty directory and started with
 * {@code bin/deltaforge}, with a Java runtime and a shell but no Maven, no checkout and no JAVA_HOME; it
 * validates the example configuration in {@code conf/}, checks the connections and runs it against real
 * servers until SIGTERM. The self-contained variant ({@code ./dev.sh dist --self-contained}), when built, gets the
 * same test without any Java on the PATH.
 */
@Timeout(240)
class DistributionIT {
    private static final Path TARGET = Path.of("target").toAbsolutePath();
    /** What the launcher needs to write and find its class-data-sharing archive. */
    private static final String[] ARCHIVE_TOOLS = {"bash", "dirname", "readlink", "nproc", "stat", "cksum", "mkdir",
        "mv", "rm"};

    @ParameterizedTest(name = "{0}")
    @MethodSource("archives")
    void theArchiveRunsTheExampleWithOnlyAJavaRuntime(Path archive, @TempDir Path tmp) throws Exception {
        boolean selfContained = archive.getFileName().toString().contains("-linux-");
        Path home = unpack(archive, tmp.resolve("install"));
        Path tools = onlyTools(tmp.resolve("tools"), !selfContained, "bash", "dirname", "readlink");
        Path deltaforge = home.resolve("bin").resolve("deltaforge");
        Path config = home.resolve("conf").resolve("postgres-nats.yaml");
        assertThat(tools.resolve("mvn")).doesNotExist();
        if (selfContained) {
            assertThat(home.resolve("runtime/bin/java")).as("the jlink'ed runtime").isExecutable();
        }

        try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start()) {
            RunnerIT.createSeedTables(pg);
            RunnerIT.createStream(nats);
            Map<String, String> env = Map.of("PATH", tools.toString(), "HOME", tmp.toString(),
                    "POSTGRES_DSN", pg.dsn(), "NATS_URL", nats.url());

            Finished version = run(tmp, env, deltaforge.toString(), "--version");
            assertThat(version.output()).as(version.output()).startsWith("deltaforge ");
            assertThat(version.output()).doesNotContain("unknown");

            Finished validate = run(tmp, env, deltaforge.toString(), "validate", "--config", config.toString(),
                    "--check-connections");
            assertThat(validate.code()).as(validate.output()).isZero();
            assertThat(validate.output()).contains("ok: 1 pipeline(s) valid",
                    "ok: pipeline 'users-postgres-to-nats': source 'users-postgres' reachable and usable",
                    "ok: pipeline 'users-postgres-to-nats': sink 'users-nats' reachable and usable");

            runOneRowThrough(tmp, env, deltaforge, config, pg, nats);
        }
    }

    /**
     * Every class of ours that the example loads, from its start through one event to its stop, comes from the
     * launcher's archive: a class missing from {@code deltaforge.classlist} is parsed and verified at every start
     * instead, and nothing else would tell (the list is made by hand; docs/performance.md, "JVM options").
     * Lambda and other hidden classes are never archived from a class list and are left out.
     */
    @org.junit.jupiter.api.Test
    void everyClassOfOursTheExampleLoadsComesFromTheArchive(@TempDir Path tmp) throws Exception {
        Path home = unpackPlain(tmp);
        Path tools = onlyTools(tmp.resolve("tools"), true, ARCHIVE_TOOLS);
        Path classes = tmp.resolve("classes.log");
        try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start()) {
            RunnerIT.createSeedTables(pg);
            RunnerIT.createStream(nats);
            Map<String, String> env = Map.of("PATH", tools.toString(), "HOME", tmp.toString(), "DELTAFORGE_CDS_DIR",
                    tmp.resolve("cds").toString(), "POSTGRES_DSN", pg.dsn(), "NATS_URL", nats.url(),
                    "DELTAFORGE_JAVA_OPTS", "-Xlog:class+load=info:file=" + classes);
            runOneRowThrough(tmp, env, home.resolve("bin").resolve("deltaforge"),
                    home.resolve("conf").resolve("postgres-nats.yaml"), pg, nats);
        }
        String tag = "[class,load] ";
        List<String> ours = Files.readAllLines(classes).stream()
                .filter(line -> line.contains(tag))
                .map(line -> line.substring(line.indexOf(tag) + tag.length()))
                .filter(entry -> entry.startsWith("io.deltaforge.") && !entry.contains("$$Lambda")
                        && !entry.contains("/0x"))
                .toList();
        assertThat(ours).as("classes of ours loaded").hasSizeGreaterThan(100);
        assertThat(ours.stream().filter(entry -> !entry.contains(" source: shared objects file")))
                .as("classes of ours loaded outside the archive: add them to"
                        + " deltaforge-runner/src/dist/lib/deltaforge.classlist (its header says how it is made)")
                .isEmpty();
    }

    /** Runs {@code config} until one inserted row is in the stream, then stops the runner with SIGTERM. */
    private static void runOneRowThrough(Path tmp, Map<String, String> env, Path deltaforge, Path config,
                                         PostgresServer pg, NatsServer nats) throws Exception {
        Path log = tmp.resolve("run.log");
        Process runner = start(tmp, env, log, deltaforge.toString(), "run", "--config", config.toString());
        try {
            RunnerIT.waitFor(() -> Files.readString(log).contains("pipeline(s) running"), Duration.ofSeconds(90), log);
            pg.execute("INSERT INTO public.users VALUES (1, 'Alice', 'alice@example.com', now())");
            RunnerIT.waitFor(() -> RunnerIT.messages(nats) == 1, Duration.ofSeconds(60), log);

            runner.destroy(); // SIGTERM, through the script's exec straight to the JVM

            assertThat(runner.waitFor(60, TimeUnit.SECONDS)).as("runner exits").isTrue();
            assertThat(runner.exitValue()).as(Files.readString(log)).isZero();
        } finally {
            runner.destroyForcibly();
        }
    }

    /**
     * On one or two CPUs the launcher compiles with C1 only (docs/performance.md, "JVM options"); the user's
     * own Tiered option or DELTAFORGE_JVM_DEFAULTS=off leaves the JVM's choice. One CPU by affinity, which
     * nproc reports.
     */
    @org.junit.jupiter.api.Test
    void theLauncherCompilesWithC1OnlyOnOneOrTwoCpus(@TempDir Path tmp) throws Exception {
        Path home = unpackPlain(tmp);
        Path tools = onlyTools(tmp.resolve("tools"), true, "bash", "dirname", "readlink", "nproc");
        String taskset = onlyTools(tmp.resolve("taskset"), false, "taskset").resolve("taskset").toString();
        String deltaforge = home.resolve("bin").resolve("deltaforge").toString();
        Map<String, String> env = Map.of("PATH", tools.toString(), "HOME", tmp.toString(),
                "DELTAFORGE_JAVA_OPTS", "-XX:+PrintFlagsFinal");

        assertThat(run(tmp, env, taskset, "-c", "0", deltaforge, "--version").output())
                .containsPattern("TieredStopAtLevel\\s+= 1\\s");
        Map<String, String> off = new java.util.HashMap<>(env);
        off.put("DELTAFORGE_JVM_DEFAULTS", "off");
        assertThat(run(tmp, off, taskset, "-c", "0", deltaforge, "--version").output())
                .containsPattern("TieredStopAtLevel\\s+= 4\\s");
        Map<String, String> own = new java.util.HashMap<>(env);
        own.put("DELTAFORGE_JAVA_OPTS", "-XX:+PrintFlagsFinal -XX:TieredStopAtLevel=2");
        assertThat(run(tmp, own, taskset, "-c", "0", deltaforge, "--version").output())
                .containsPattern("TieredStopAtLevel\\s+= 2\\s");
    }

    /**
     * On one or two CPUs the launcher picks the serial collector (docs/performance.md, "JVM options"), where the
     * JVM would pick G1 on two CPUs and 2 GB of memory; a collector of the user's own, in any of the JVM's option
     * variables, or DELTAFORGE_JVM_DEFAULTS=off leaves the JVM's choice. Two CPUs by affinity: on one the JVM
     * picks the serial collector itself.
     */
    @org.junit.jupiter.api.Test
    void theLauncherPicksTheSerialCollectorOnOneOrTwoCpus(@TempDir Path tmp) throws Exception {
        List<String> cpus = allowedCpus();
        org.junit.jupiter.api.Assumptions.assumeTrue(cpus.size() >= 2 && memoryKib() >= 2L << 20,
                "needs two CPUs and 2 GB, where the JVM's own choice is G1");
        Path home = unpackPlain(tmp);
        Path tools = onlyTools(tmp.resolve("tools"), true, "bash", "dirname", "readlink", "nproc");
        String taskset = onlyTools(tmp.resolve("taskset"), false, "taskset").resolve("taskset").toString();
        String twoCpus = cpus.get(0) + "," + cpus.get(1);
        String deltaforge = home.resolve("bin").resolve("deltaforge").toString();
        Map<String, String> env = Map.of("PATH", tools.toString(), "HOME", tmp.toString(),
                "DELTAFORGE_JAVA_OPTS", "-XX:+PrintFlagsFinal");

        assertThat(run(tmp, env, taskset, "-c", twoCpus, deltaforge, "--version").output())
                .containsPattern("UseSerialGC\\s+= true\\s");
        Map<String, String> off = new java.util.HashMap<>(env);
        off.put("DELTAFORGE_JVM_DEFAULTS", "off");
        assertThat(run(tmp, off, taskset, "-c", twoCpus, deltaforge, "--version").output())
                .containsPattern("UseG1GC\\s+= true\\s");
        Map<String, String> own = new java.util.HashMap<>(env);
        own.put("DELTAFORGE_JAVA_OPTS", "-XX:+PrintFlagsFinal -XX:+UseParallelGC");
        Finished parallel = run(tmp, own, taskset, "-c", twoCpus, deltaforge, "--version");
        assertThat(parallel.code()).as(parallel.output()).isZero();
        assertThat(parallel.output()).containsPattern("UseParallelGC\\s+= true\\s");
        Map<String, String> tool = new java.util.HashMap<>(env);
        tool.put("JAVA_TOOL_OPTIONS", "-XX:+UseG1GC");
        Finished g1 = run(tmp, tool, taskset, "-c", twoCpus, deltaforge, "--version");
        assertThat(g1.code()).as(g1.output()).isZero();
        assertThat(g1.output()).containsPattern("UseG1GC\\s+= true\\s");
    }

    /** The CPUs this process may run on, from /proc/self/status ("0-3,6"), in order. */
    private static List<String> allowedCpus() throws IOException {
        List<String> cpus = new java.util.ArrayList<>();
        for (String range : procField("/proc/self/status", "Cpus_allowed_list:").split(",")) {
            if (range.isEmpty()) {
                continue;
            }
            String[] ends = range.split("-");
            int last = Integer.parseInt(ends[ends.length - 1]);
            for (int cpu = Integer.parseInt(ends[0]); cpu <= last; cpu++) {
                cpus.add(Integer.toString(cpu));
            }
        }
        return cpus;
    }

    /** The machine's memory as /proc/meminfo gives it ("MemTotal: 24641232 kB"). */
    private static long memoryKib() throws IOException {
        return Long.parseLong(procField("/proc/meminfo", "MemTotal:").split("\\s+")[0]);
    }

    /** What follows {@code label} on its line of {@code file}, trimmed; empty when there is no such line. */
    private static String procField(String file, String label) throws IOException {
        return Files.readAllLines(Path.of(file)).stream().filter(l -> l.startsWith(label)).findFirst()
                .map(l -> l.substring(label.length()).trim()).orElse("");
    }

    /**
     * On one or two CPUs the launcher runs the JVM under Linux's SCHED_BATCH policy (docs/performance.md, "JVM
     * options"); DELTAFORGE_JVM_DEFAULTS=off, or a machine without chrt, leaves the policy as it was (this test's
     * own). The java here is a script that prints the scheduling policy of its own process, which is the
     * launcher's after exec.
     */
    @org.junit.jupiter.api.Test
    void theLauncherSchedulesTheJvmAsBatchWorkOnOneOrTwoCpus(@TempDir Path tmp) throws Exception {
        Path home = unpackPlain(tmp);
        Path tools = onlyTools(tmp.resolve("tools"), false, "bash", "dirname", "readlink", "nproc", "chrt");
        Path noChrt = onlyTools(tmp.resolve("no-chrt"), false, "bash", "dirname", "readlink", "nproc");
        for (Path dir : List.of(tools, noChrt)) {
            Path java = dir.resolve("java");
            // Field 41 of /proc/PID/stat is the policy: 0 normal, 3 batch.
            Files.writeString(java, "#!/bin/bash\nread -r -a stat < /proc/self/stat\necho \"policy ${stat[40]}\"\n");
            assertThat(java.toFile().setExecutable(true)).isTrue();
        }
        String taskset = onlyTools(tmp.resolve("taskset"), false, "taskset").resolve("taskset").toString();
        String deltaforge = home.resolve("bin").resolve("deltaforge").toString();
        Map<String, String> env = Map.of("PATH", tools.toString(), "HOME", tmp.toString());
        String inherited = "policy " + ownSchedulingPolicy();

        assertThat(run(tmp, env, taskset, "-c", "0", deltaforge, "--version").output()).contains("policy 3");
        Map<String, String> off = new java.util.HashMap<>(env);
        off.put("DELTAFORGE_JVM_DEFAULTS", "off");
        assertThat(run(tmp, off, taskset, "-c", "0", deltaforge, "--version").output()).contains(inherited);
        Map<String, String> without = new java.util.HashMap<>(env);
        without.put("PATH", noChrt.toString());
        Finished unchanged = run(tmp, without, taskset, "-c", "0", deltaforge, "--version");
        assertThat(unchanged.output()).contains(inherited);
        assertThat(unchanged.code()).isZero();
    }

    /** Field 41 of this process's /proc/PID/stat; the fields after the command name start at field 3. */
    private static String ownSchedulingPolicy() throws IOException {
        String stat = Files.readString(Path.of("/proc/self/stat"));
        return stat.substring(stat.lastIndexOf(')') + 2).split(" ")[41 - 3];
    }

    /**
     * Where the kernel gives transparent huge pages on request (madvise), the launcher asks for them for the
     * heap (docs/performance.md, "JVM options"); elsewhere it adds nothing, so the JVM has nothing to warn about.
     * The user's own option, in any of the JVM's option variables, and DELTAFORGE_JVM_DEFAULTS=off win.
     */
    @org.junit.jupiter.api.Test
    void theLauncherAsksForHugePagesWhereTheKernelGivesThemOnRequest(@TempDir Path tmp) throws Exception {
        Path home = unpackPlain(tmp);
        Path tools = onlyTools(tmp.resolve("tools"), true, "bash", "dirname", "readlink", "nproc");
        String deltaforge = home.resolve("bin").resolve("deltaforge").toString();
        Map<String, String> env = Map.of("PATH", tools.toString(), "HOME", tmp.toString(),
                "DELTAFORGE_JAVA_OPTS", "-XX:+PrintFlagsFinal");
        Path setting = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        boolean onRequest = Files.isReadable(setting) && Files.readString(setting).contains("[madvise]");

        assertThat(run(tmp, env, deltaforge, "--version").output())
                .containsPattern("UseTransparentHugePages\\s+= " + onRequest + "\\s")
                .doesNotContain("TransparentHugePages disabled");
        Map<String, String> own = new java.util.HashMap<>(env);
        own.put("JAVA_TOOL_OPTIONS", "-XX:-UseTransparentHugePages");
        assertThat(run(tmp, own, deltaforge, "--version").output())
                .containsPattern("UseTransparentHugePages\\s+= false\\s");
        Map<String, String> off = new java.util.HashMap<>(env);
        off.put("DELTAFORGE_JVM_DEFAULTS", "off");
        assertThat(run(tmp, off, deltaforge, "--version").output())
                .containsPattern("UseTransparentHugePages\\s+= false\\s");
    }

    /**
     * The launcher writes a class-data-sharing archive for its runtime and class path on the first start, into
     * DELTAFORGE_CDS_DIR, and every start (the first included) loads the runner's classes from it; the user's own
     * -Xshare option leaves it out.
     */
    @org.junit.jupiter.api.Test
    void theLauncherLoadsTheRunnersClassesFromAnArchiveItWritesOnce(@TempDir Path tmp) throws Exception {
        Path home = unpackPlain(tmp);
        Path tools = onlyTools(tmp.resolve("tools"), true, ARCHIVE_TOOLS);
        Path cds = tmp.resolve("cds");
        String deltaforge = home.resolve("bin").resolve("deltaforge").toString();
        Map<String, String> env = Map.of("PATH", tools.toString(), "HOME", tmp.toString(), "DELTAFORGE_CDS_DIR",
                cds.toString(), "DELTAFORGE_JAVA_OPTS", "-Xlog:class+load=info");
        String fromArchive = "io.deltaforge.runner.Runner source: shared objects file";

        Finished first = run(tmp, env, deltaforge, "--version");
        assertThat(first.code()).as(first.output()).isZero();
        assertThat(first.output()).contains("writing a class-data-sharing archive", fromArchive);
        List<Path> written = jsaFiles(cds);
        assertThat(written).hasSize(1);

        Finished second = run(tmp, env, deltaforge, "--version");
        assertThat(second.output()).contains(fromArchive).doesNotContain("writing a class-data-sharing archive");
        assertThat(jsaFiles(cds)).isEqualTo(written);

        Map<String, String> own = new java.util.HashMap<>(env);
        own.put("DELTAFORGE_JAVA_OPTS", "-Xshare:off -Xlog:class+load=info");
        Finished unshared = run(tmp, own, deltaforge, "--version");
        assertThat(unshared.code()).as(unshared.output()).isZero();
        assertThat(unshared.output()).contains("io.deltaforge.runner.Runner source: file:").doesNotContain(fromArchive);
    }

    /**
     * OpenJDK 17 crashes (SIGSEGV) loading a class from the archive while a Java agent or the flight recorder
     * watches class loading: a start with either, from any option variable, goes without the archive. The
     * connection check loads the classes that crashed it.
     */
    @org.junit.jupiter.api.Test
    void aStartWithTheFlightRecorderOrAnAgentGoesWithoutTheArchive(@TempDir Path tmp) throws Exception {
        Path home = unpackPlain(tmp);
        Path tools = onlyTools(tmp.resolve("tools"), true, ARCHIVE_TOOLS);
        String deltaforge = home.resolve("bin").resolve("deltaforge").toString();
        String config = home.resolve("conf").resolve("postgres-nats.yaml").toString();
        String recorder = "-XX:StartFlightRecording=filename=" + tmp.resolve("recording.jfr");
        try (PostgresServer pg = PostgresServer.start(); NatsServer nats = NatsServer.start()) {
            RunnerIT.createSeedTables(pg);
            RunnerIT.createStream(nats);
            Map<String, String> env = Map.of("PATH", tools.toString(), "HOME", tmp.toString(), "DELTAFORGE_CDS_DIR",
                    tmp.resolve("cds").toString(), "POSTGRES_DSN", pg.dsn(), "NATS_URL", nats.url());
            for (String variable : List.of("DELTAFORGE_JAVA_OPTS", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS")) {
                Map<String, String> withRecorder = new java.util.HashMap<>(env);
                withRecorder.put(variable, recorder);
                Finished validate = run(tmp, withRecorder, deltaforge, "validate", "--config", config,
                        "--check-connections");
                assertThat(validate.code()).as(variable + ": " + validate.output()).isZero();
                assertThat(validate.output()).as(variable).contains("ok: 1 pipeline(s) valid",
                        "starting without the class-data-sharing archive");
            }
            assertThat(tmp.resolve("cds")).doesNotExist();
        }
    }

    private static List<Path> jsaFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".jsa")).sorted().toList();
        }
    }

    /** The archive the package phase built, and the self-contained variant if dev.sh built one. */
    static List<Path> archives() throws IOException {
        try (Stream<Path> files = Files.list(TARGET)) {
            List<Path> found = files.filter(f -> f.getFileName().toString().matches("deltaforge-runner-.+\\.tar\\.gz"))
                    .sorted().toList();
            assertThat(found).as("built by the package phase in " + TARGET)
                    .anyMatch(f -> !f.getFileName().toString().contains("-linux-"));
            return found;
        }
    }

    /** The archive that needs a Java runtime, unpacked into {@code tmp/install}; returns its top directory. */
    private static Path unpackPlain(Path tmp) throws Exception {
        Path archive = archives().stream().filter(f -> !f.getFileName().toString().contains("-linux-")).findFirst()
                .orElseThrow();
        return unpack(archive, tmp.resolve("install"));
    }

    /** Unpacks with the system's tar, as a user would; returns the archive's one top directory. */
    private static Path unpack(Path archive, Path dir) throws Exception {
        Files.createDirectories(dir);
        Process tar = new ProcessBuilder("tar", "xzf", archive.toString(), "-C", dir.toString()).inheritIO().start();
        assertThat(tar.waitFor(60, TimeUnit.SECONDS) && tar.exitValue() == 0).as("tar xzf " + archive).isTrue();
        try (Stream<Path> top = Files.list(dir)) {
            List<Path> entries = top.toList();
            assertThat(entries).hasSize(1);
            Path home = entries.get(0);
            assertThat(home.resolve("lib")).isDirectory();
            return home;
        }
    }

    /** A directory for PATH holding the named system tools (and this test's java if asked), nothing else. */
    private static Path onlyTools(Path dir, boolean java, String... names) throws Exception {
        Files.createDirectories(dir);
        for (String name : names) {
            Process which = new ProcessBuilder("bash", "-c", "command -v " + name).start();
            String path = new String(which.getInputStream().readAllBytes()).trim();
            assertThat(which.waitFor()).as("'" + name + "' on this machine").isZero();
            Files.createSymbolicLink(dir.resolve(name), Path.of(path));
        }
        if (java) {
            Files.createSymbolicLink(dir.resolve("java"), Path.of(System.getProperty("java.home"), "bin", "java"));
        }
        return dir;
    }

    private record Finished(int code, String output) {
    }

    private static Finished run(Path dir, Map<String, String> env, String... command) throws Exception {
        Path log = Files.createTempFile(dir, "out", ".log");
        Process p = start(dir, env, log, command);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as(String.join(" ", command) + " finishes").isTrue();
        return new Finished(p.exitValue(), Files.readString(log));
    }

    /** In an empty working directory, with exactly {@code env} as the environment. */
    private static Process start(Path dir, Map<String, String> env, Path log, String... command) throws IOException {
        Path cwd = Files.createDirectories(dir.resolve("cwd"));
        ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().clear();
        pb.environment().putAll(env);
        return pb.start();
    }
}
