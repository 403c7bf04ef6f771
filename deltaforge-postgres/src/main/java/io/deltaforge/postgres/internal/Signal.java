package io.deltaforge.postgres.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.UncheckedIOException;
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

    private static final JsonFactory JSON = new JsonFactory();

    /**
     * Parses the content.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    static Signal parse(String json) {
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("the content is not a JSON object");
            }
            String type = null;
            String source = null;
            String slot = null;
            String condition = null;
            List<String> tables = List.of();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                JsonToken value = p.nextToken();
                switch (key) {
                    case "type" -> type = value == JsonToken.VALUE_STRING ? p.getText() : null;
                    case "source" -> source = text(p, value, key);
                    case "slot" -> slot = text(p, value, key);
                    case "condition" -> condition = text(p, value, key);
                    case "tables" -> tables = tables(p, value);
                    default -> p.skipChildren();
                }
            }
            if (p.nextToken() != null) {
                throw new IllegalArgumentException("invalid JSON: content after the object");
            }
            if (type == null) {
                throw new IllegalArgumentException("\"type\" is missing; expected \"snapshot\"");
            }
            return new Signal(type, source, slot, tables, condition);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("invalid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // reading a String does no I/O
        }
    }

    private static List<String> tables(JsonParser p, JsonToken value) throws IOException {
        if (value == JsonToken.VALUE_NULL) {
            return List.of();
        }
        if (value != JsonToken.START_ARRAY) {
            throw new IllegalArgumentException("\"tables\" must be an array such as [\"public.users\"]");
        }
        List<String> tables = new ArrayList<>();
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (t != JsonToken.VALUE_STRING) {
                throw new IllegalArgumentException("\"tables\" must hold strings such as \"public.users\"");
            }
            tables.add(p.getText());
        }
        return List.copyOf(tables);
    }

    private static @Nullable String text(JsonParser p, JsonToken value, String key) throws IOException {
        if (value == JsonToken.VALUE_NULL) {
            return null;
        }
        if (value != JsonToken.VALUE_STRING) {
            throw new IllegalArgumentException("\"" + key + "\" must be a string");
        }
        return p.getText();
    }
}
