package io.deltaforge.postgres.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * An operator's signal, sent as a logical decoding message with prefix {@code deltaforge.signal} and a JSON
 * object as content, e.g.
 * {@code SELECT pg_logical_emit_message(true, 'deltaforge.signal',
 * '{"type":"snapshot","slot":"deltaforge_users","tables":["public.users"],"condition":"id > 100"}')}.
 *
 * <p>{@code source} or {@code slot} (either, optional) names which source it is for; without either, every
 * source reading the database acts on it.
 *
 * @param type      what to do; only {@code snapshot} is known
 * @param source    the source id it is for; null for any
 * @param slot      the slot it is for; null for any
 * @param tables    tables to snapshot
 * @param condition row condition as text in the grammar of {@link io.deltaforge.api.SnapshotRequest}, parsed
 *                  before anything reaches the server; null for every row
 */
record Signal(String type, @Nullable String source, @Nullable String slot, List<String> tables,
              @Nullable String condition) {

    /** Whether the signal is for the source with this id and slot. */
    boolean isFor(String sourceId, String slotName) {
        return (source == null || source.equals(sourceId)) && (slot == null || slot.equals(slotName));
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /**
     * Parses the content.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    static Signal parse(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("invalid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("the content is not a JSON object");
        }
        JsonNode type = root.get("type");
        if (type == null || !type.isTextual()) {
            throw new IllegalArgumentException("\"type\" is missing; expected \"snapshot\"");
        }
        List<String> tables = new ArrayList<>();
        JsonNode raw = root.get("tables");
        if (raw != null && raw.isArray()) {
            for (JsonNode t : raw) {
                if (!t.isTextual()) {
                    throw new IllegalArgumentException("\"tables\" must hold strings such as \"public.users\"");
                }
                tables.add(t.asText());
            }
        } else if (raw != null && !raw.isNull()) {
            throw new IllegalArgumentException("\"tables\" must be an array such as [\"public.users\"]");
        }
        return new Signal(type.asText(), text(root, "source"), text(root, "slot"), List.copyOf(tables),
                text(root, "condition"));
    }

    private static @Nullable String text(JsonNode root, String key) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new IllegalArgumentException("\"" + key + "\" must be a string");
        }
        return v.asText();
    }
}
