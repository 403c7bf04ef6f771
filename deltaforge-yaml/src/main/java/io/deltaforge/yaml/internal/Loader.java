package io.deltaforge.yaml.internal;

import io.deltaforge.yaml.PipelineDefinition;
import io.deltaforge.yaml.YamlConfigException;
import io.deltaforge.yaml.YamlConfigException.Located;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * Reads files or text into pipeline definitions: parse, interpolate, assemble, and report every problem
 * of every document in one {@link YamlConfigException}. Used through
 * {@link io.deltaforge.yaml.PipelineConfigLoader}; one instance per load, not thread-safe.
 */
public final class Loader {
    private final Function<String, @Nullable String> env;
    private final ClassLoader classLoader;

    public Loader(Function<String, @Nullable String> env, ClassLoader classLoader) {
        this.env = Objects.requireNonNull(env, "env");
        this.classLoader = Objects.requireNonNull(classLoader, "classLoader");
    }

    /** Each path is a file or a directory (its *.yaml and *.yml files, in name order, not recursive). */
    public List<PipelineDefinition> definitions(List<Path> paths) {
        List<Located> problems = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        Reporter general = new Reporter(problems, null, Map.of());
        for (Path p : paths) {
            expand(p, files, general);
        }
        boolean showFile = files.size() > 1;
        Map<String, String> names = new HashMap<>();
        List<PipelineDefinition> out = new ArrayList<>();
        PipelineAssembler assembler = new PipelineAssembler(new ProviderCatalog(classLoader));
        for (Path f : files) {
            String label = f.toString();
            Reporter fileReporter = new Reporter(problems, showFile ? label : null, Map.of());
            String text;
            try {
                // UTF-8 takes at most 4 bytes a character: a larger file is over the limit without reading it.
                long size = Files.size(f);
                if (size > 4L * YamlReader.MAX_CHARS) {
                    fileReporter.at("", Location.UNKNOWN, "cannot read " + label + ": too large: " + size
                            + " bytes; is this the right file?");
                    continue;
                }
                text = decode(Files.readAllBytes(f));
            } catch (CharacterCodingException e) {
                fileReporter.at("", Location.UNKNOWN, "cannot read " + label + ": not UTF-8 text");
                continue;
            } catch (IOException e) {
                fileReporter.at("", Location.UNKNOWN, "cannot read " + label + ": " + Causes.oneLine(e));
                continue;
            }
            out.addAll(parse(text, label, showFile ? label : null, problems, names, assembler));
        }
        if (files.isEmpty() && problems.isEmpty()) {
            general.at("", Location.UNKNOWN, "no configuration given; pass a YAML file or a directory of them");
        }
        if (!problems.isEmpty()) {
            throw new YamlConfigException(problems);
        }
        return out;
    }

    /** Definitions from YAML text; {@code sourceName} names it in origins. */
    public List<PipelineDefinition> definitions(String text, String sourceName) {
        List<Located> problems = new ArrayList<>();
        List<PipelineDefinition> out = parse(text, sourceName, null, problems, new HashMap<>(),
                new PipelineAssembler(new ProviderCatalog(classLoader)));
        if (!problems.isEmpty()) {
            throw new YamlConfigException(problems);
        }
        return out;
    }

    private List<PipelineDefinition> parse(String text, String sourceName, @Nullable String fileLabel,
                                           List<Located> problems, Map<String, String> names,
                                           PipelineAssembler assembler) {
        Reporter fileReporter = new Reporter(problems, fileLabel, Map.of());
        List<YamlReader.Document> docs = new YamlReader().read(text, fileReporter);
        if (docs.isEmpty() && fileReporter.count() == 0) {
            fileReporter.at("", Location.UNKNOWN, "no pipeline in " + sourceName
                    + "; expected a document starting with apiVersion: " + PipelineAssembler.API_VERSION);
        }
        Interpolator interpolator = new Interpolator(env);
        List<PipelineDefinition> out = new ArrayList<>();
        for (YamlReader.Document doc : docs) {
            Reporter r = new Reporter(problems, fileLabel, YamlPaths.index(doc.root()));
            Node root = interpolator.apply(doc.root(), "", r);
            r.hide(interpolator.secrets());
            int line = firstLine(doc.root());
            String origin = sourceName + (line > 0 ? ":" + line : "");
            PipelineDefinition def = assembler.assemble(root, r, origin);
            if (def == null) {
                continue;
            }
            String previous = names.putIfAbsent(def.name(), origin);
            if (previous != null) {
                r.problem("metadata.name", "pipeline name '" + def.name() + "' is already used at " + previous
                        + "; give each pipeline its own name");
                continue;
            }
            out.add(def);
        }
        return out;
    }

    /** The line of a document's first key: the parser places a mapping's start at the "---" before it. */
    private static int firstLine(Node root) {
        if (root instanceof Node.MapNode map && !map.keyLocations().isEmpty()) {
            return map.keyLocations().values().stream().mapToInt(Location::line).filter(l -> l > 0).min()
                    .orElse(root.location().line());
        }
        return root.location().line();
    }

    private static void expand(Path p, List<Path> files, Reporter problems) {
        if (Files.isDirectory(p)) {
            try (Stream<Path> list = Files.list(p)) {
                List<Path> found = list.filter(Files::isRegularFile)
                        .filter(f -> {
                            String n = f.getFileName().toString();
                            String lower = n.toLowerCase(Locale.ROOT);
                            return !n.startsWith(".") && (lower.endsWith(".yaml") || lower.endsWith(".yml"));
                        })
                        .sorted()
                        .toList();
                if (found.isEmpty()) {
                    problems.at("", Location.UNKNOWN, "no *.yaml or *.yml files in directory " + p);
                }
                files.addAll(found);
            } catch (IOException e) {
                problems.at("", Location.UNKNOWN, "cannot list directory " + p + ": " + Causes.oneLine(e));
            }
        } else if (Files.isRegularFile(p)) {
            files.add(p);
        } else {
            problems.at("", Location.UNKNOWN, "configuration file " + p + " does not exist; pass a YAML file or "
                    + "a directory of them");
        }
    }

    private static String decode(byte[] bytes) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    }
}
