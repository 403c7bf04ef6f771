package io.deltaforge.yaml.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * docs/deltaforge-v1.schema.json declares exactly the accepted keys. Each schema object that stands for a
 * loader section is marked {@code "x-deltaforge-section": "<path as in CoreSchema>"}, each provider's
 * config {@code "x-deltaforge-provider": "<kind>:<type>"}; their property names (nested ones as
 * {@code a.b}) must equal the keys of {@link CoreSchema} and of {@link ProviderKeys}.
 */
class JsonSchemaSyncTest {
    static final Path SCHEMA = Path.of("..", "docs", "deltaforge-v1.schema.json");

    private final Map<String, JsonNode> sections = new HashMap<>();
    private final Map<String, JsonNode> providers = new HashMap<>();

    private void index() throws IOException {
        JsonNode root = new ObjectMapper().readTree(SCHEMA.toFile());
        assertThat(root.path("$schema").asText()).isEqualTo("https://json-schema.org/draft/2020-12/schema");
        walk(root);
    }

    private void walk(JsonNode node) {
        if (node.isObject()) {
            if (node.has("x-deltaforge-section")) {
                assertThat(sections.put(node.get("x-deltaforge-section").asText(), node)).as("one schema per section")
                        .isNull();
            }
            if (node.has("x-deltaforge-provider")) {
                assertThat(providers.put(node.get("x-deltaforge-provider").asText(), node)).isNull();
            }
        }
        node.elements().forEachRemaining(this::walk);
    }

    /** Property names, with those of nested objects (directly or among anyOf/oneOf) as {@code a.b}. */
    static List<String> keys(JsonNode schema, boolean nested) {
        List<String> out = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = schema.path("properties").fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            out.add(e.getKey());
            if (!nested) {
                continue;
            }
            List<JsonNode> shapes = new ArrayList<>(List.of(e.getValue()));
            e.getValue().path("anyOf").forEach(shapes::add);
            e.getValue().path("oneOf").forEach(shapes::add);
            for (JsonNode shape : shapes) {
                keys(shape, false).forEach(k -> out.add(e.getKey() + "." + k));
            }
        }
        return out;
    }

    @Test
    void everyLoaderSectionIsInTheSchemaWithExactlyItsKeys() throws IOException {
        index();
        CoreSchema.sections().forEach((path, expected) -> {
            assertThat(sections).as("schema object for section '%s'", path).containsKey(path);
            assertThat(keys(sections.get(path), false)).as("keys of section '%s' in %s", path, SCHEMA)
                    .containsExactlyInAnyOrderElementsOf(expected);
        });
        assertThat(sections.keySet()).containsExactlyInAnyOrderElementsOf(CoreSchema.sections().keySet());
    }

    @Test
    void everyBuiltInProviderIsInTheSchemaWithExactlyItsKeys() throws IOException {
        index();
        List<String> seen = new ArrayList<>();
        for (ProviderKeys.Keys p : ProviderKeys.builtIn()) {
            String id = p.kind().replace(' ', '-') + ":" + p.type();
            seen.add(id);
            assertThat(providers).as("schema object marked x-deltaforge-provider: %s", id).containsKey(id);
            List<String> expected = new ArrayList<>(p.keys());
            if (p.kind().equals("sink")) {
                expected.addAll(CoreSchema.SINK_OWN); // written in the same mapping, taken out by the loader
            }
            if (p.kind().equals("envelope")) {
                expected.addAll(CoreSchema.ENVELOPE);
            }
            assertThat(keys(providers.get(id), true)).as("keys of %s in %s", id, SCHEMA)
                    .containsExactlyInAnyOrderElementsOf(expected);
        }
        assertThat(providers.keySet()).as("providers in the schema").containsExactlyInAnyOrderElementsOf(seen);
    }
}
