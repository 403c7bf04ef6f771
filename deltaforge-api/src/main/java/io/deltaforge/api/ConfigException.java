package io.deltaforge.api;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Invalid configuration: every problem found, each as {@code path: message}, reported together.
 *
 * <pre>{@code
 * catch (ConfigException e) { e.problems().forEach(p -> System.err.println(p)); }
 * }</pre>
 */
public class ConfigException extends DeltaforgeException {
    private final List<Problem> problems;

    public ConfigException(List<Problem> problems) {
        super(render(problems));
        this.problems = List.copyOf(problems);
    }

    public ConfigException(String path, String message) {
        this(List.of(new Problem(path, message)));
    }

    /** Every problem, in the order found; never empty. */
    public List<Problem> problems() {
        return problems;
    }

    private static String render(List<Problem> problems) {
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("a ConfigException needs at least one problem");
        }
        return problems.stream().map(Problem::toString).collect(Collectors.joining("\n"));
    }

    /**
     * One configuration problem.
     *
     * @param path    where, as a dotted path such as {@code spec.sinks[0].config.url}; empty for the root
     * @param message what is wrong and how to fix it
     */
    public record Problem(String path, String message) {
        public Problem {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(message, "message");
        }

        @Override
        public String toString() {
            return path.isEmpty() ? message : path + ": " + message;
        }
    }
}
