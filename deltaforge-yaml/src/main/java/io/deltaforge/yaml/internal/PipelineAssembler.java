package io.deltaforge.yaml.internal;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.ConfigException;
import io.deltaforge.api.EventFilter;
import io.deltaforge.api.Filters;
import io.deltaforge.api.Op;
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
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
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
    private static final List<String> SINK_OWN_KEYS = CoreSchema.SINK_OWN;
    private static final List<String> ENCODINGS = List.of("json");
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
                CoreSchema.keys(CoreSchema.ROOT));
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
                "write metadata: {name: my-pipeline}", CoreSchema.keys(CoreSchema.METADATA));
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

        Section spec = required(doc, "spec", "source, sinks, envelope, encoding, batch, commit_policy and filters",
                "write spec: with a source and at least one sink", CoreSchema.keys(CoreSchema.SPEC));
        if (spec == null) {
            return null;
        }
        spec.reportUnknownKeys();
        Source source = source(spec, info);
        Envelope pipelineEnvelope = spec.has("envelope")
                ? envelope(spec.get("envelope"), spec.pathOf("envelope"), info, problems) : null;
        encoding(spec);
        EventFilter filter = spec.has("filters") ? filters(spec.get("filters"), spec.pathOf("filters"), problems)
                : EventFilter.ALL;
        List<SinkBinding> sinks = sinks(spec, info, spec.has("envelope"));
        BatchConfig batch = batch(spec);
        CommitPolicy policy = commitPolicy(spec, sinks.size(), info);

        if (problems.count() > before || name == null || source == null) {
            return null;
        }
        PipelineDefinition def = new PipelineDefinition(name, tenant, labels, source, sinks, pipelineEnvelope,
                batch, policy, filter == null ? EventFilter.ALL : filter, origin);
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
                "add a source, e.g. source: {type: postgres, config: {...}}", CoreSchema.keys(CoreSchema.SOURCE));
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
            Section s = Section.of(list.items().get(i), path, problems, "a sink with type and config",
                    CoreSchema.keys(CoreSchema.SINK));
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
            EventFilter sinkFilter = EventFilter.ALL;
            if (own != null) {
                required = own.bool("required", true);
                encoding(own);
                if (own.has("filters")) {
                    sinkFilter = filters(own.get("filters"), own.pathOf("filters"), problems);
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
                out.add(SinkBinding.of(sink).withEnvelope(envelope).withRequired(required)
                        .withFilter(sinkFilter == null ? EventFilter.ALL : sinkFilter));
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
            Section sec = Section.of(map, path, problems, "the envelope", CoreSchema.keys(CoreSchema.ENVELOPE));
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
        Section b = spec.section("batch", "max_events, max_bytes, max_ms, respect_source_tx",
                CoreSchema.keys(CoreSchema.BATCH));
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
        Section cp = Section.of(n, path, problems, "mode and quorum", CoreSchema.keys(CoreSchema.COMMIT_POLICY));
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

    /** {@code encoding} of the pipeline or a sink: only json exists for now. */
    private static void encoding(Section s) {
        String encoding = s.string("encoding");
        if (encoding != null && !ENCODINGS.contains(encoding)) {
            s.problems().problem(s.pathOf("encoding"), "'" + encoding + "' is not supported; only json is available for now");
        }
    }

    /**
     * A {@code filters} section ({@code ops}, {@code tables}, {@code columns}) as one filter; null when it has
     * problems (all reported).
     */
    static @Nullable EventFilter filters(@Nullable Node node, String path, Reporter problems) {
        if (node == null) {
            return EventFilter.ALL;
        }
        int before = problems.count();
        Section f = Section.of(node, path, problems, "ops, tables and columns", CoreSchema.keys(CoreSchema.FILTERS));
        if (f == null) {
            return null;
        }
        f.reportUnknownKeys();
        EventFilter out = EventFilter.ALL;
        List<String> ops = strings(f, "ops", "op codes");
        if (ops != null) {
            Set<Op> keep = EnumSet.noneOf(Op.class);
            for (int i = 0; i < ops.size(); i++) {
                try {
                    keep.add(Op.fromCode(ops.get(i)));
                } catch (IllegalArgumentException e) {
                    problems.problem(YamlPaths.item(f.pathOf("ops"), i), "'" + ops.get(i)
                            + "' is not an op; expected c, u, d, r, t or m");
                }
            }
            if (ops.isEmpty()) {
                problems.problem(f.pathOf("ops"), "is empty, which would drop every event; list the ops to keep, "
                        + "e.g. ops: [c, u, d]");
            } else if (!keep.isEmpty()) {
                out = out.andThen(Filters.ops(keep));
            }
        }
        Section tables = f.section("tables", "include and exclude lists of schema.table patterns",
                CoreSchema.keys(CoreSchema.FILTER_TABLES));
        if (tables != null) {
            tables.reportUnknownKeys();
            List<String> include = patterns(tables, "include");
            List<String> exclude = patterns(tables, "exclude");
            if (include != null && exclude != null) {
                out = out.andThen(Filters.tables(include, exclude));
            }
        }
        Node columns = f.get("columns");
        if (columns instanceof Node.MapNode map) {
            Map<String, Filters.ColumnRule> rules = new LinkedHashMap<>();
            map.entries().forEach((pattern, ruleNode) -> {
                String rulePath = YamlPaths.child(f.pathOf("columns"), pattern);
                String bad = patternProblem(pattern);
                if (bad != null) {
                    problems.problem(rulePath, bad);
                }
                Section rule = Section.of(ruleNode, rulePath, problems, "include or exclude: a list of columns",
                        CoreSchema.keys(CoreSchema.FILTER_COLUMN_RULE));
                if (rule == null) {
                    return;
                }
                rule.reportUnknownKeys();
                List<String> include = strings(rule, "include", "column names");
                List<String> exclude = strings(rule, "exclude", "column names");
                if (include == null && exclude == null && rule.node().entries().isEmpty()) {
                    problems.problem(rulePath, "is empty; write include: [columns] or exclude: [columns]");
                }
                if (include != null && exclude != null && !include.isEmpty() && !exclude.isEmpty()) {
                    problems.problem(rulePath, "has both include and exclude; use one of them");
                }
                if (bad == null) {
                    try {
                        rules.put(pattern, new Filters.ColumnRule(include == null ? List.of() : include,
                                exclude == null ? List.of() : exclude));
                    } catch (IllegalArgumentException e) {
                        problems.problem(rulePath, e.getMessage());
                    }
                }
            });
            if (!rules.isEmpty()) {
                out = out.andThen(Filters.columns(rules));
            }
        } else if (columns != null) {
            problems.problem(f.pathOf("columns"), "expected a mapping of table patterns to {include|exclude: "
                    + "[columns]}, not " + columns.describe() + "; e.g. columns: {public.users: {exclude: "
                    + "[password_hash]}}");
        }
        return problems.count() > before ? null : out;
    }

    /** A list of table patterns, each checked; null when absent or wrong (reported). */
    private static @Nullable List<String> patterns(Section s, String key) {
        List<String> list = strings(s, key, "schema.table patterns");
        if (list == null) {
            return s.has(key) ? null : List.of();
        }
        boolean ok = true;
        for (int i = 0; i < list.size(); i++) {
            String bad = patternProblem(list.get(i));
            if (bad != null) {
                s.problems().problem(YamlPaths.item(s.pathOf(key), i), bad);
                ok = false;
            }
        }
        return ok ? list : null;
    }

    private static @Nullable String patternProblem(String pattern) {
        try {
            Filters.tables(List.of(pattern), List.of());
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    /** A list of non-blank strings; null when absent or not such a list (reported). */
    private static @Nullable List<String> strings(Section s, String key, String what) {
        Node.ListNode list = s.list(key, what);
        if (list == null) {
            return null;
        }
        List<String> out = new ArrayList<>();
        boolean ok = true;
        for (int i = 0; i < list.items().size(); i++) {
            Node item = list.items().get(i);
            if (item instanceof Node.ScalarNode sc && sc.value() != null
                    && !(sc.value() instanceof Boolean)) {
                out.add(String.valueOf(sc.value()));
            } else {
                s.problems().problem(YamlPaths.item(s.pathOf(key), i), "expected one of the " + what + ", not "
                        + item.describe());
                ok = false;
            }
        }
        return ok ? out : null;
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
