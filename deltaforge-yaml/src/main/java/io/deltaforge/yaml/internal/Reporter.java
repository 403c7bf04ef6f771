package io.deltaforge.yaml.internal;

import io.deltaforge.api.ConfigException;
import io.deltaforge.yaml.YamlConfigException.Located;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** Collects the problems of one document (or file) into the load's shared list, with locations. */
final class Reporter {
    private final List<Located> sink;
    private final @Nullable String file;
    private final Map<String, Location> index;
    private final Set<String> paths = new HashSet<>();
    private Set<String> hidden = Set.of();
    private int count;

    Reporter(List<Located> sink, @Nullable String file, Map<String, Location> index) {
        this.sink = sink;
        this.file = file;
        this.index = index;
    }

    /**
     * From now on, each of these values is replaced by {@code ***} in messages: secrets that a provider
     * might quote when it rejects a value.
     *
     * @param secrets read when a problem is reported, so it may grow
     */
    void hide(Set<String> secrets) {
        hidden = secrets;
    }

    /** A problem located by its path. */
    void problem(String path, String message) {
        at(path, YamlPaths.locate(index, path), message);
    }

    void at(String path, Location location, String message) {
        paths.add(path);
        for (String secret : hidden) {
            message = message.replace(secret, "***");
        }
        sink.add(new Located(new ConfigException.Problem(path, message), file, location.line(), location.column()));
        count++;
    }

    /** Problems reported through this reporter so far. */
    int count() {
        return count;
    }

    /** Whether a problem was reported at exactly this path already. */
    boolean reportedAt(String path) {
        return paths.contains(path);
    }
}
