package io.deltaforge.yaml;

import io.deltaforge.api.ConfigException;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * A {@link ConfigException} from a YAML file: besides each problem's path and message it knows the file,
 * line and column, and its message shows them.
 *
 * <pre>{@code
 * try {
 *     loader.load(Path.of("pipelines.yaml"));
 * } catch (YamlConfigException e) {
 *     e.located().forEach(p -> System.err.println(p));
 *     // spec.source.config.dsn (line 9, column 12): environment variable POSTGRES_DSN is not set; ...
 * }
 * }</pre>
 *
 * <p>{@link #problems()} holds the plain problems (path and message), in the same order.
 */
public final class YamlConfigException extends ConfigException {
    private final List<Located> located;

    public YamlConfigException(List<Located> located) {
        super(located.stream().map(Located::problem).toList());
        this.located = List.copyOf(located);
    }

    /** Every problem with where it was found; never empty. */
    public List<Located> located() {
        return located;
    }

    /** One line per problem, as {@link Located#toString()} renders it. */
    @Override
    public String getMessage() {
        return located.stream().map(Located::toString).collect(Collectors.joining("\n"));
    }

    /**
     * A problem and where it is.
     *
     * @param problem the path and message
     * @param file    the file the problem is in when that is worth saying (several files were loaded);
     *                null otherwise
     * @param line    1-based; 0 when unknown
     * @param column  1-based; 0 when unknown
     */
    public record Located(ConfigException.Problem problem, @Nullable String file, int line, int column) {
        public Located {
            Objects.requireNonNull(problem, "problem");
        }

        /** {@code [file: ]path (line L, column C): message}; the parts that are unknown are left out. */
        @Override
        public String toString() {
            StringBuilder b = new StringBuilder();
            if (file != null) {
                b.append(file).append(": ");
            }
            b.append(problem.path());
            if (line > 0) {
                b.append(problem.path().isEmpty() ? "" : " ").append("(line ").append(line);
                if (column > 0) {
                    b.append(", column ").append(column);
                }
                b.append(')');
            }
            if (b.length() > 0) {
                b.append(": ");
            }
            return b.append(problem.message()).toString();
        }
    }
}
