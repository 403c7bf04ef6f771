package io.deltaforge.testkit;

import io.deltaforge.api.DeltaforgeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Runs server commands as an unprivileged user when the JVM is root, because initdb, pg_ctl and
 * postgres refuse to run as root. When the JVM is not root, commands run unchanged.
 */
final class RunAs {
    static final String DEFAULT_USER = "deltaforge-pg";
    private static final Duration SHORT = Duration.ofSeconds(30);
    private static final Path ROOT_DIR = Path.of("/");

    private final @Nullable String user;
    private final List<String> prefix;

    private RunAs(@Nullable String user, List<String> prefix) {
        this.user = user;
        this.prefix = List.copyOf(prefix);
    }

    static RunAs detect() {
        if (!Procs.isRoot()) {
            return new RunAs(null, List.of());
        }
        String user = chooseUser();
        Path runuser = firstExisting("runuser", "/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser");
        if (runuser != null) {
            return new RunAs(user, List.of(runuser.toString(), "-u", user, "--"));
        }
        Path setpriv = firstExisting("setpriv", "/usr/bin/setpriv", "/bin/setpriv");
        if (setpriv != null) {
            String uid = Procs.runOk(List.of("id", "-u", user), ROOT_DIR, SHORT, "id -u " + user).strip();
            String gid = Procs.runOk(List.of("id", "-g", user), ROOT_DIR, SHORT, "id -g " + user).strip();
            return new RunAs(user, List.of(setpriv.toString(), "--reuid=" + uid, "--regid=" + gid, "--clear-groups"));
        }
        throw new DeltaforgeException("running as root, but neither runuser nor setpriv was found to drop privileges"
                + " for PostgreSQL; install util-linux (apt-get install util-linux) or run the tests as a normal user");
    }

    /** The user commands run as, or null when no switch happens (the JVM is not root). */
    @Nullable String user() {
        return user;
    }

    List<String> wrap(List<String> command) {
        if (prefix.isEmpty()) {
            return command;
        }
        List<String> wrapped = new ArrayList<>(prefix);
        wrapped.addAll(command);
        return wrapped;
    }

    /** Hands a directory tree to the unprivileged user so the server can write to it. */
    void own(Path dir) {
        if (user != null) {
            Procs.runOk(List.of("chown", "-R", user + ":", dir.toString()), ROOT_DIR, SHORT, "chown of " + dir);
        }
    }

    private static String chooseUser() {
        String configured = System.getenv("DELTAFORGE_PG_USER");
        if (configured != null && !configured.isBlank()) {
            if (!exists(configured)) {
                throw new DeltaforgeException("DELTAFORGE_PG_USER: user '" + configured
                        + "' does not exist; create it or unset the variable");
            }
            return configured;
        }
        if (exists(DEFAULT_USER)) {
            return DEFAULT_USER;
        }
        // Another JVM may create the same user concurrently; re-check instead of trusting useradd's exit code.
        Procs.run(List.of("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", DEFAULT_USER),
                ROOT_DIR, SHORT);
        if (exists(DEFAULT_USER)) {
            return DEFAULT_USER;
        }
        if (exists("nobody")) {
            return "nobody";
        }
        throw new DeltaforgeException("running as root and cannot create user '" + DEFAULT_USER
                + "' for PostgreSQL (PostgreSQL refuses to run as root); create an unprivileged user and set"
                + " DELTAFORGE_PG_USER to it");
    }

    private static boolean exists(String user) {
        return Procs.run(List.of("id", "-u", user), ROOT_DIR, SHORT).ok();
    }

    private static @Nullable Path firstExisting(String name, String... paths) {
        Path onPath = Procs.onPath(name);
        if (onPath != null) {
            return onPath;
        }
        for (String p : paths) {
            Path candidate = Path.of(p);
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }
}
