package io.deltaforge.testkit;

import io.deltaforge.api.DeltaforgeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/** Finds the PostgreSQL server binaries (initdb, pg_ctl, postgres). */
final class PgBinaries {
    static final String ENV = "DELTAFORGE_PG_BIN";

    private PgBinaries() {}

    /**
     * Lookup order: $DELTAFORGE_PG_BIN, {@code pg_config --bindir}, the newest /usr/lib/postgresql/N/bin,
     * then initdb on PATH (symlinks resolved, since Debian links only some tools into /usr/bin).
     */
    static Path locate() {
        List<String> tried = new ArrayList<>();
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            Path dir = Path.of(env.strip());
            if (complete(dir)) {
                return dir;
            }
            throw new DeltaforgeException(ENV + ": '" + env + "' does not contain initdb, pg_ctl and postgres;"
                    + " point it at the PostgreSQL bin directory (e.g. /usr/lib/postgresql/15/bin)");
        }
        Path fromPgConfig = fromPgConfig();
        if (fromPgConfig != null) {
            if (complete(fromPgConfig)) {
                return fromPgConfig;
            }
            tried.add("pg_config --bindir (" + fromPgConfig + ")");
        } else {
            tried.add("pg_config --bindir");
        }
        Path newest = newestDebian();
        if (newest != null) {
            return newest;
        }
        tried.add("/usr/lib/postgresql/*/bin");
        Path initdb = Procs.onPath("initdb");
        if (initdb != null) {
            try {
                Path dir = initdb.toRealPath().getParent();
                if (dir != null && complete(dir)) {
                    return dir;
                }
            } catch (IOException ignored) {
                // fall through to the error below
            }
        }
        tried.add("initdb on PATH");
        throw new DeltaforgeException("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; tried "
                + String.join(", ", tried) + ". Install them (Debian/Ubuntu: apt-get install postgresql)"
                + " or set " + ENV + " to the directory that contains them");
    }

    static boolean complete(Path dir) {
        return Files.isExecutable(dir.resolve("initdb"))
                && Files.isExecutable(dir.resolve("pg_ctl"))
                && Files.isExecutable(dir.resolve("postgres"));
    }

    private static @Nullable Path fromPgConfig() {
        Path pgConfig = Procs.onPath("pg_config");
        if (pgConfig == null) {
            return null;
        }
        try {
            Procs.Result r = Procs.run(List.of(pgConfig.toString(), "--bindir"), Path.of("/"), Duration.ofSeconds(10));
            String out = r.output().strip();
            return r.ok() && !out.isEmpty() ? Path.of(out) : null;
        } catch (DeltaforgeException e) {
            return null;
        }
    }

    private static @Nullable Path newestDebian() {
        Path base = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(base)) {
            return null;
        }
        try (Stream<Path> versions = Files.list(base)) {
            return versions
                    .filter(v -> v.getFileName().toString().matches("\\d+(\\.\\d+)?"))
                    .filter(v -> complete(v.resolve("bin")))
                    .max(Comparator.comparingDouble(v -> Double.parseDouble(v.getFileName().toString())))
                    .map(v -> v.resolve("bin"))
                    .orElse(null);
        } catch (IOException e) {
            return null;
        }
    }
}
