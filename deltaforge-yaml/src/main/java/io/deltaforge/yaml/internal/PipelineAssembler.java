package io.deltaforge.yaml.internal;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.ConfigException;
import io.deltaforge.api.SinkBinding;
import io.deltaforge.spi.CommitPolicy;
import io.deltaforge.spi.CommitPolicyProvider;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.Provider;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.ProviderConfig.PipelineInfo;
import io.deltaforge.spi.Sink;
import io.deltaforge.spi.SinkProvider;
import io.deltaforge.spi.Source;
import io.deltaforge.spi.SourceProvider;
import io.deltaforge.yaml.PipelineDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Maps one interpolated {@code deltaforge/v1} document onto a {@link PipelineDefinition}, creating the
 * source, sinks and envelopes through their providers. Every problem is reported; providers are asked
 * even when other parts are wrong, so one run shows everything to fix.
 */
final class PipelineAssembler {
    static final String API_VERSION = "deltaforge/v1";
    static final String KIND = "Pipeline";

    /** Keys of a sink's config that the loader consumes; the rest goes to the sink provider. */
    private static final List<String> SINK_OWN_KEYS = List.of("envelope", "required", "encoding");
    private static final List<String> BUILT_IN_MODES = List.of("all", "required", "quorum");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final ProviderCatalog providers;

    PipelineAssembler(ProviderCatalog providers) {
        this.providers = providers;
    }

    /** The definition, or null when the document has problems (all reported). */
    @Nullable PipelineDefinition assemble(Node root, Reporter problems, String origin) {
        int before = problems.count();
        Section doc = Section.of(root, "", problems, "a pipeline: apiVersion, kind, metadata and spec",
                "apiVersion", "kind", "metadata", "spec");
        if (doc == null) {
            return null;
        }
        String api = doc.requiredString("apiVersion", "write apiVersion: " + API_VERSION);
        if (api != null && !api.equals(API_VERSION)) {
            problems.problem("apiVersion", "'" + api + "' is not supported; write apiVersion: " + API_VERSION);
        }
        String kind = doc.requiredString("kind", "write kind: " + KIND);
        if (kind != null && !kind.equals(KIND)) {
            problems.problem("kind", "'" + kind + "' is not supported; write kind: " + KIND);
        }
        doc.reportUnknownKeys();

        String name = null;
        String tenant = null;
        Map<String, String> labels = Map.of();
        Section meta = required(doc, "metadata", "the pipeline's name, tenant and labels",
                "write metadata: {name: my-pipeline}", "name", "tenant", "labels");
        if (meta != null) {
            name = meta.requiredString("name", "name the pipeline, e.g. name: users-to-nats");
            if (name != null && !NAME.matcher(name).matches()) {
                problems.problem("metadata.name", "'" + name + "' is not a valid name; use letters, digits, '.', '_'"
                        + " and '-' (at most 128), starting with a letter or digit");
                name = null;
            }
            tenant = meta.string("tenant");
            labels = labels(meta);
            meta.reportUnknownKeys();
        }
        PipelineInfo info = new PipelineInfo(name == null ? "pipeline" : name, tenant);

        Section spec = required(doc, "spec", "source, sinks, envelope, batch and commit_policy",
                "write spec: with a source and at least one sink", "source", "sinks", "envelope", "batch",
                "commit_policy");
        if (spec == null) {
            return null;
        }
        spec.reportUnknownKeys();
        Source source = source(spec, info);
        Envelope pipelineEnvelope = spec.has("envelope")
                ? envelope(spec.get("envelope"), spec.pathOf("envelope"), info, problems) : null;
        List<SinkBinding> sinks = sinks(spec, info, spec.has("envelope"));
        BatchConfig batch = batch(spec);
        CommitPolicy policy = commitPolicy(spec, sinks.size(), info);

        if (problems.count() > before || name == null || source == null) {
            return null;
        }
        PipelineDefinition def = new PipelineDefinition(name, tenant, labels, source, sinks, pipelineEnvelope,
                batch, policy, origin);
        try {
            def.toBuilder().build();
        } catch (ConfigException e) {
            for (ConfigException.Problem p : e.problems()) {
                problems.problem(builderPath(p.path()), p.message());
            }
            return null;
        }
        return def;
    }

    private static @Nullable Section required(Section parent, String key, String what, String hint,
                                              String... known) {
        Node n = parent.get(key);
        if (n == null) {
            parent.problems().problem(parent.pathOf(key), "is required; " + hint);
            return null;
        }
        return Section.of(n, parent.pathOf(key), parent.problems(), what, known);
    }

    private static Map<String, String> labels(Section meta) {
        Node n = meta.get("labels");
        if (n == null) {
            return Map.of();
        }
        if (!(n instanceof Node.MapNode map)) {
            meta.problems().problem(meta.pathOf("labels"), "expected a mapping of label names to values, not "
                    + n.describe());
            return Map.of();
        }
        Map<String, String> out = new LinkedHashMap<>();
        map.entries().forEach((k, v) -> {
            if (v instanceof Node.ScalarNode s && s.value() != null) {
                out.put(k, String.valueOf(s.value()));
            } else {
                meta.problems().problem(YamlPaths.child(meta.pathOf("labels"), k),
                        "expected a single value, not " + v.describe());
            }
        });
        return out;
    }

    private @Nullable Source source(Section spec, PipelineInfo info) {
        Section s = required(spec, "source", "the source's type and config",
                "add a source, e.g. source: {type: postgres, config: {...}}", "type", "config");
        if (s == null) {
            return null;
        }
        String type = s.requiredString("type", "name the source provider, e.g. type: postgres");
        Map<String, @Nullable Object> config = config(s);
        s.reportUnknownKeys();
        if (type == null || config == null) {
            return null;
        }
        return create(SourceProvider.class, "source", type, s.pathOf("type"), s.pathOf("config"), config, info,
                List.of(), SourceProvider::create, s.problems());
    }

    private List<SinkBinding> sinks(Section spec, PipelineInfo info, boolean pipelineEnvelopeSet) {
        Reporter problems = spec.problems();
        Node.ListNode list = spec.list("sinks", "one entry per sink, each with type and config");
        if (list == null) {
            if (!spec.has("sinks")) {
                problems.problem(spec.pathOf("sinks"), "is required; add at least one sink, e.g. "
                        + "sinks: [{type: nats, config: {...}}]");
            }
            return List.of();
        }
        if (list.items().isEmpty()) {
            problems.problem(spec.pathOf("sinks"), "is empty; add at least one sink");
        }
        List<SinkBinding> out = new ArrayList<>();
        for (int i = 0; i < list.items().size(); i++) {
            String path = YamlPaths.item(spec.pathOf("sinks"), i);
            Section s = Section.of(list.items().get(i), path, problems, "a sink with type and config", "type",
                    "config");
            if (s == null) {
                continue;
            }
            String type = s.requiredString("type", "name the sink provider, e.g. type: nats");
            Map<String, @Nullable Object> config = config(s);
            s.reportUnknownKeys();
            if (config == null) {
                continue;
            }
            // The sink's config holds keys meant for the loader; read them with locations, then hand the rest on.
            Node configNode = s.get("config");
            Section own = Section.of(configNode == null
                            ? new Node.MapNode(Map.of(), Map.of(), s.node().location()) : configNode,
                    s.pathOf("config"), problems, "the sink's settings", SINK_OWN_KEYS.toArray(String[]::new));
            boolean required = true;
            Envelope envelope = null;
            if (own != null) {
                required = own.bool("required", true);
                String encoding = own.string("encoding");
                if (encoding != null && !encoding.equals("json")) {
                    problems.problem(own.pathOf("encoding"), "'" + encoding
                            + "' is not supported; only json is available for now");
                }
                if (own.has("envelope")) {
                    envelope = envelope(own.get("envelope"), own.pathOf("envelope"), info, problems);
                } else if (!pipelineEnvelopeSet) {
                    problems.problem(own.pathOf("envelope"), "is required: the sink needs an envelope and "
                            + "spec.envelope is not set; e.g. envelope: {type: cloudevents}; available: "
                            + available(EnvelopeProvider.class));
                }
            }
            SINK_OWN_KEYS.forEach(config::remove);
            if (type == null) {
                continue;
            }
            Sink sink = create(SinkProvider.class, "sink", type, s.pathOf("type"), s.pathOf("config"), config, info,
                    SINK_OWN_KEYS, SinkProvider::create, problems);
            if (sink != null) {
                out.add(SinkBinding.of(sink).withEnvelope(envelope).withRequired(required));
            }
        }
        return out;
    }

    /** An envelope written as a type name or as a mapping with {@code type} and the envelope's settings. */
    private @Nullable Envelope envelope(@Nullable Node node, String path, PipelineInfo info, Reporter problems) {
        if (node == null) {
            return null;
        }
        String type;
        String typePath;
        Map<String, @Nullable Object> config;
        if (node instanceof Node.ScalarNode scalar && scalar.value() instanceof String s && !s.isBlank()) {
            type = s;
            typePath = path;
            config = new LinkedHashMap<>();
        } else if (node instanceof Node.MapNode map) {
            Section sec = Section.of(map, path, problems, "the envelope", "type");
            type = sec == null ? null : sec.requiredString("type", "name the envelope, e.g. type: cloudevents; "
                    + "available: " + available(EnvelopeProvider.class));
            typePath = YamlPaths.child(path, "type");
            config = map.toPlain();
            config.remove("type");
        } else {
            problems.problem(path, "expected an envelope type or a mapping with type and its settings, not "
                    + node.describe() + "; e.g. envelope: {type: cloudevents}");
            return null;
        }
        if (type == null) {
            return null;
        }
        return create(EnvelopeProvider.class, "envelope", type, typePath, path, config, info, List.of("type"),
                EnvelopeProvider::create, problems);
    }

    private BatchConfig batch(Section spec) {
        BatchConfig d = BatchConfig.defaults();
        Section b = spec.section("batch", "max_events, max_bytes, max_ms, respect_source_tx", "max_events",
                "max_bytes", "max_ms", "respect_source_tx");
        if (b == null) {
            return d;
        }
        int maxEvents = (int) b.number("max_events", d.maxEvents(), 1, 1_000_000);
        long maxBytes = b.number("max_bytes", d.maxBytes(), 1, 1L << 30);
        long maxMs = b.number("max_ms", d.maxWait().toMillis(), 1, 3_600_000);
        boolean respectTx = b.bool("respect_source_tx", d.respectSourceTx());
        b.reportUnknownKeys();
        return new BatchConfig(maxEvents, maxBytes, Duration.ofMillis(maxMs), respectTx);
    }

    private CommitPolicy commitPolicy(Section spec, int sinkCount, PipelineInfo info) {
        Node n = spec.get("commit_policy");
        if (n == null) {
            return CommitPolicy.required();
        }
        Reporter problems = spec.problems();
        String path = spec.pathOf("commit_policy");
        if (n instanceof Node.ScalarNode s && s.value() instanceof String mode) {
            n = new Node.MapNode(Map.of("mode", s), Map.of("mode", s.location()), s.location());
            if (mode.equals("quorum")) {
                problems.problem(path, "mode quorum needs a count; write commit_policy: {mode: quorum, quorum: 2}");
                return CommitPolicy.required();
            }
        }
        Section cp = Section.of(n, path, problems, "mode and quorum", "mode", "quorum");
        if (cp == null) {
            return CommitPolicy.required();
        }
        String mode = cp.string("mode");
        if (mode == null) {
            mode = "required";
        }
        if (!BUILT_IN_MODES.contains(mode)) {
            List<String> custom = new ArrayList<>(providers.types(CommitPolicyProvider.class));
            if (custom.contains(mode)) {
                Map<String, @Nullable Object> config = cp.node().toPlain();
                config.remove("mode");
                CommitPolicy p = create(CommitPolicyProvider.class, "commit policy", mode, cp.pathOf("mode"), path,
                        config, info, List.of("mode"), CommitPolicyProvider::create, problems);
                return p == null ? CommitPolicy.required() : p;
            }
            List<String> all = new ArrayList<>(BUILT_IN_MODES);
            all.addAll(custom);
            String hint = Suggestions.hint(mode, all);
            problems.problem(cp.pathOf("mode"), "unknown mode '" + mode + "'" + (hint.isEmpty() ? ";" : hint)
                    + " expected " + String.join(", ", all));
            cp.reportUnknownKeys();
            return CommitPolicy.required();
        }
        cp.reportUnknownKeys();
        if (!mode.equals("quorum")) {
            if (cp.has("quorum")) {
                problems.problem(cp.pathOf("quorum"), "is only used with mode: quorum; remove it or write "
                        + "mode: quorum");
            }
            return mode.equals("all") ? CommitPolicy.all() : CommitPolicy.required();
        }
        if (!cp.has("quorum")) {
            problems.problem(cp.pathOf("quorum"), "is required with mode: quorum; e.g. quorum: 2");
            return CommitPolicy.required();
        }
        int quorum = (int) cp.number("quorum", 0, 1, Integer.MAX_VALUE);
        if (quorum == 0) {
            return CommitPolicy.required();
        }
        if (sinkCount > 0 && quorum > sinkCount) {
            problems.problem(cp.pathOf("quorum"), quorum + " is more than the " + sinkCount + " sink(s); expected 1 to "
                    + sinkCount);
            return CommitPolicy.required();
        }
        return CommitPolicy.quorum(quorum);
    }

    /** The section's {@code config} as plain values; empty when absent, null when not a mapping (reported). */
    private static @Nullable Map<String, @Nullable Object> config(Section s) {
        Node n = s.get("config");
        if (n == null) {
            return new LinkedHashMap<>();
        }
        if (n instanceof Node.MapNode map) {
            return map.toPlain();
        }
        s.problems().problem(s.pathOf("config"), "expected a mapping of settings, not " + n.describe());
        return null;
    }

    private <P extends Provider, T> @Nullable T create(Class<P> kind, String noun, String type, String typePath,
                                                       String configPath, Map<String, @Nullable Object> config,
                                                       PipelineInfo info, List<String> ownKeys,
                                                       BiFunction<P, ProviderConfig, T> factory, Reporter problems) {
        P provider = providers.find(kind, noun, type, typePath, problems);
        if (provider == null) {
            return null;
        }
        try {
            T created = factory.apply(provider, ProviderConfig.of(configPath, config, info));
            if (created == null) {
                problems.problem(configPath, provider.getClass().getName() + ".create returned null; "
                        + "that provider is broken");
            }
            return created;
        } catch (ConfigException e) {
            for (ConfigException.Problem p : e.problems()) {
                String path = underConfig(p.path(), configPath);
                if (problems.reportedAt(path)) {
                    continue; // e.g. a value left empty by a failed ${VAR}: one problem is enough
                }
                problems.problem(path, withSuggestion(path, p.message(), ownKeys));
            }
        } catch (RuntimeException e) {
            problems.problem(configPath, "the '" + type + "' " + noun + " provider (" + provider.getClass().getName()
                    + ") failed: " + Causes.oneLine(e));
        }
        return null;
    }

    /** A provider's problem path, made absolute if the provider reported it relative to its section. */
    private static String underConfig(String path, String configPath) {
        if (path.equals(configPath) || path.startsWith(configPath + ".") || path.startsWith(configPath + "[")) {
            return path;
        }
        return path.isEmpty() ? configPath : YamlPaths.child(configPath, path);
    }

    /** Adds a "did you mean" to ProviderConfig's unknown-key message, counting the loader's own keys as known. */
    private static String withSuggestion(String path, String message, List<String> ownKeys) {
        String prefix = "unknown key; known keys: ";
        if (!message.startsWith(prefix)) {
            return message;
        }
        List<String> known = new ArrayList<>();
        for (String k : message.substring(prefix.length()).split(",")) {
            if (!k.isBlank()) {
                known.add(k.strip());
            }
        }
        for (String k : ownKeys) {
            if (!known.contains(k)) {
                known.add(k);
            }
        }
        return Section.unknownKeyMessage(YamlPaths.lastKey(path), known);
    }

    private String available(Class<? extends Provider> kind) {
        var types = providers.types(kind);
        return types.isEmpty() ? "none" : String.join(", ", types);
    }

    /** The builder names {@code source}, {@code sinks[1]}; in YAML they live under {@code spec}. */
    private static String builderPath(String path) {
        for (String top : Arrays.asList("source", "sinks", "envelope", "batch")) {
            if (path.equals(top) || path.startsWith(top + "[") || path.startsWith(top + ".")) {
                return "spec." + path;
            }
        }
        return path.isEmpty() ? "spec" : "spec." + path.toLowerCase(Locale.ROOT);
    }
}
