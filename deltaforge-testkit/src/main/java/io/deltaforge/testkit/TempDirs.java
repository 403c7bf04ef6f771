package io.deltaforge.testkit;

import io.deltaforge.api.DeltaforgeException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Creates the per-server temp directories and finds ones left behind by JVMs that died without running
 * their shutdown hooks (kill -9, OOM killer), so the next run can stop their servers and free the disk.
 */
final class TempDirs {
    static final String ENV = "DELTAFORGE_TESTKIT_TMP";
    static final String OWNER_FILE = "owner.pid";

    private TempDirs() {}

    /**
     * Under root the server runs as another user, which must be able to traverse every parent directory;
     * /tmp always allows that, while java.io.tmpdir may point somewhere private.
     */
    static Path base(boolean dropsPrivileges) {
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            return Path.of(env.strip());
        }
        return dropsPrivileges ? Path.of("/tmp") : Path.of(System.getProperty("java.io.tmpdir"));
    }

    static Path create(Path base, String prefix) {
        try {
            Files.createDirectories(base);
            Path dir = Files.createTempDirectory(base, prefix);
            Files.writeString(dir.resolve(OWNER_FILE), Long.toString(ProcessHandle.current().pid()));
            return dir;
        } catch (IOException e) {
            throw new DeltaforgeException("cannot create a temp directory under " + base + ": " + e.getMessage()
                    + "; set " + ENV + " to a writable directory", e);
        }
    }

    static List<Path> orphans(Path base, String prefix) {
        List<Path> result = new ArrayList<>();
        if (!Files.isDirectory(base)) {
            return result;
        }
        try (Stream<Path> dirs = Files.list(base)) {
            dirs.filter(d -> d.getFileName().toString().startsWith(prefix))
                    .filter(TempDirs::ownerIsDead)
                    .forEach(result::add);
        } catch (IOException | RuntimeException ignored) {
            // cleanup of orphans is opportunistic
        }
        return result;
    }

    private static boolean ownerIsDead(Path dir) {
        try {
            long pid = Long.parseLong(Files.readString(dir.resolve(OWNER_FILE)).strip());
            return ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true) || isZombie(pid);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** A JVM killed moments ago may linger as a zombie, which ProcessHandle still reports as alive. */
    private static boolean isZombie(long pid) {
        try (InputStream in = Files.newInputStream(Path.of("/proc", Long.toString(pid), "stat"))) {
            String stat = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            int end = stat.lastIndexOf(')');
            return end > 0 && end + 2 < stat.length() && stat.charAt(end + 2) == 'Z';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
