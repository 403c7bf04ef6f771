package io.deltaforge.testkit;

import io.deltaforge.api.DeltaforgeException;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/** Small process and file helpers shared by the server fixtures. Stateless. */
final class Procs {
    private static final File DEV_NULL = new File("/dev/null");

    private Procs() {}

    /** Outcome of a finished command: exit code and combined stdout/stderr. */
    record Result(int exitCode, String output) {
        boolean ok() {
            return exitCode == 0;
        }
    }

    /**
     * Runs a command to completion. Output goes to a file rather than a pipe because pg_ctl leaves a
     * daemonized postmaster behind that would otherwise inherit the pipe and keep it open forever.
     */
    static Result run(List<String> command, Path workDir, Duration timeout) {
        Path out = null;
        try {
            out = Files.createTempFile("deltaforge-cmd-", ".out");
            Process p = new ProcessBuilder(command)
                    .directory(workDir.toFile())
                    .redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(DEV_NULL))
                    .redirectOutput(out.toFile())
                    .start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw new DeltaforgeException("command timed out after " + timeout.toSeconds() + "s: "
                        + String.join(" ", command) + "\n" + read(out));
            }
            return new Result(p.exitValue(), read(out));
        } catch (IOException e) {
            throw new DeltaforgeException("cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DeltaforgeException("interrupted while running " + String.join(" ", command), e);
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // a leftover temp file is harmless
                }
            }
        }
    }

    /** Like {@link #run} but throws with the command output when the exit code is not zero. */
    static String runOk(List<String> command, Path workDir, Duration timeout, String what) {
        Result r = run(command, workDir, timeout);
        if (!r.ok()) {
            throw new DeltaforgeException(what + " failed (exit " + r.exitCode() + "): "
                    + String.join(" ", command) + "\n" + r.output().strip());
        }
        return r.output();
    }

    static boolean isRoot() {
        if ("root".equals(System.getProperty("user.name"))) {
            return true;
        }
        try {
            Result r = run(List.of("id", "-u"), Path.of("/"), Duration.ofSeconds(10));
            return r.ok() && r.output().strip().equals("0");
        } catch (DeltaforgeException e) {
            return false;
        }
    }

    static @Nullable Path onPath(String executable) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, executable);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    static String read(@Nullable Path file) {
        if (file == null) {
            return "";
        }
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** Last {@code lines} lines of a log file, for error messages. */
    static String tail(Path file, int lines) {
        String text = read(file);
        if (text.isEmpty()) {
            return "(log " + file + " is empty or missing)";
        }
        String[] all = text.split("\n");
        int from = Math.max(0, all.length - lines);
        List<String> kept = new ArrayList<>(List.of(all).subList(from, all.length));
        return "--- last " + kept.size() + " lines of " + file + " ---\n" + String.join("\n", kept);
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a temp dir that survives is only a disk-space leak
                }
            });
        } catch (IOException ignored) {
            // best effort, see above
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DeltaforgeException("interrupted while waiting for a test server", e);
        }
    }
}
