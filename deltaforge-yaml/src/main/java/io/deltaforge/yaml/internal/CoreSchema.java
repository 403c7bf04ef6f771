package io.deltaforge.yaml.internal;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The keys of every section the loader itself reads (providers declare theirs by reading them). The
 * assembler takes its keys from here, and the tests check the JSON Schema and the configuration reference
 * against {@link #sections()}, so a key added here without documenting it fails the build.
 */
public final class CoreSchema {
    static final List<String> ROOT = List.of("apiVersion", "kind", "metadata", "spec");
    static final List<String> METADATA = List.of("name", "tenant", "labels");
    static final List<String> SPEC = List.of("source", "sinks", "envelope", "encoding", "batch", "commit_policy",
            "filters");
    static final List<String> SOURCE = List.of("type", "config");
    static final List<String> SINK = List.of("type", "config");
    /** Keys of a sink's {@code config} that the loader takes out before the provider sees the rest. */
    static final List<String> SINK_OWN = List.of("envelope", "encoding", "required", "filters");
    /** Besides {@code type}, an envelope mapping holds the envelope provider's keys. */
    static final List<String> ENVELOPE = List.of("type");
    static final List<String> BATCH = List.of("max_events", "max_bytes", "max_ms", "respect_source_tx");
    static final List<String> COMMIT_POLICY = List.of("mode", "quorum");
    static final List<String> FILTERS = List.of("ops", "tables", "columns");
    static final List<String> FILTER_TABLES = List.of("include", "exclude");
    static final List<String> FILTER_COLUMN_RULE = List.of("include", "exclude");

    private CoreSchema() {
    }

    /**
     * Each section by a path pattern ({@code []} any list item, {@code <table>} any table pattern,
     * {@code <envelope>} any place an envelope mapping may be written) with its keys, in document order.
     * Provider sections ({@code config}) are not here: their keys belong to the providers.
     */
    public static Map<String, List<String>> sections() {
        Map<String, List<String>> s = new LinkedHashMap<>();
        s.put("", ROOT);
        s.put("metadata", METADATA);
        s.put("spec", SPEC);
        s.put("spec.source", SOURCE);
        s.put("spec.sinks[]", SINK);
        s.put("spec.sinks[].config", SINK_OWN);
        s.put("<envelope>", ENVELOPE);
        s.put("spec.batch", BATCH);
        s.put("spec.commit_policy", COMMIT_POLICY);
        s.put("<filters>", FILTERS);
        s.put("<filters>.tables", FILTER_TABLES);
        s.put("<filters>.columns.<table>", FILTER_COLUMN_RULE);
        return s;
    }

    static String[] keys(List<String> keys) {
        return keys.toArray(String[]::new);
    }
}
