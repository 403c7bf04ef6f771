package io.deltaforge.yaml;

import io.deltaforge.api.Pipeline;
import io.deltaforge.yaml.internal.Loader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Loads {@code deltaforge/v1} YAML into pipelines. A file may hold several documents separated by
 * {@code ---}, one pipeline each; a directory stands for its {@code *.yaml} and {@code *.yml} files.
 * Sources, sinks, envelopes and commit policies are created by the providers that
 * {@link java.util.ServiceLoader} finds for their {@code type}.
 *
 * <pre>{@code
 * List<Pipeline> pipelines = PipelineConfigLoader.create().load(Path.of("pipelines.yaml"));
 * pipelines.forEach(Pipeline::start);
 * }</pre>
 *
 * <p>String values may use {@code ${VAR}} and {@code ${VAR:-default}} (the default applies when VAR is
 * unset or empty); <code>$${</code> is a literal <code>${</code>. Interpolation happens after parsing, so a
 * variable's value never changes the YAML structure.
 *
 * <p>Loading checks everything it can without connecting anywhere: the schema, every value, and each
 * provider's own settings. Nothing connects until {@link Pipeline#start()}. All problems of all files are
 * reported together in one {@link YamlConfigException}.
 *
 * <p>Immutable and thread-safe; each load looks the providers up afresh.
 */
public final class PipelineConfigLoader {
    private final Function<String, @Nullable String> env;
    private final ClassLoader classLoader;

    private PipelineConfigLoader(Function<String, @Nullable String> env, ClassLoader classLoader) {
        this.env = env;
        this.classLoader = classLoader;
    }

    /** A loader that reads environment variables with {@link System#getenv(String)} and finds providers with
     *  this class's class loader. */
    public static PipelineConfigLoader create() {
        return new PipelineConfigLoader(System::getenv, PipelineConfigLoader.class.getClassLoader());
    }

    /**
     * A copy that looks variables up with {@code env} instead of the process environment.
     *
     * @param env returns a variable's value, or null when it is not set; not null itself
     */
    public PipelineConfigLoader withEnvironment(Function<String, @Nullable String> env) {
        return new PipelineConfigLoader(Objects.requireNonNull(env, "env"), classLoader);
    }

    /** A copy that finds providers with {@code loader}; not null. */
    public PipelineConfigLoader withClassLoader(ClassLoader loader) {
        return new PipelineConfigLoader(env, Objects.requireNonNull(loader, "loader"));
    }

    /**
     * The pipelines of a file or directory, built but not started.
     *
     * @throws YamlConfigException listing every problem, including unreadable files
     */
    public List<Pipeline> load(Path fileOrDirectory) {
        return load(List.of(Objects.requireNonNull(fileOrDirectory, "fileOrDirectory")));
    }

    /** The pipelines of several files or directories, in order; names must be unique across all of them. */
    public List<Pipeline> load(List<Path> filesOrDirectories) {
        return build(definitions(filesOrDirectories));
    }

    /**
     * The pipelines of YAML text.
     *
     * @param sourceName names the text in messages, e.g. a file name; not null
     */
    public List<Pipeline> load(String yaml, String sourceName) {
        return build(definitions(yaml, sourceName));
    }

    /** Like {@link #load(Path)}, but stops before building, so the caller can adjust each builder. */
    public List<PipelineDefinition> definitions(Path fileOrDirectory) {
        return definitions(List.of(Objects.requireNonNull(fileOrDirectory, "fileOrDirectory")));
    }

    public List<PipelineDefinition> definitions(List<Path> filesOrDirectories) {
        Objects.requireNonNull(filesOrDirectories, "filesOrDirectories");
        return new Loader(env, classLoader).definitions(List.copyOf(filesOrDirectories));
    }

    public List<PipelineDefinition> definitions(String yaml, String sourceName) {
        Objects.requireNonNull(yaml, "yaml");
        Objects.requireNonNull(sourceName, "sourceName");
        return new Loader(env, classLoader).definitions(yaml, sourceName);
    }

    private static List<Pipeline> build(List<PipelineDefinition> definitions) {
        List<Pipeline> out = new ArrayList<>(definitions.size());
        for (PipelineDefinition d : definitions) {
            out.add(d.build());
        }
        return List.copyOf(out);
    }
}
