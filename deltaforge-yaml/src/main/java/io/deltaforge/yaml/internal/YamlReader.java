package io.deltaforge.yaml.internal;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Parses YAML text (one or more {@code ---}-separated documents) into {@link Node} trees that keep each
 * value's line and column. Syntax errors and duplicate keys become problems.
 */
final class YamlReader {
    /** One non-empty document; {@code number} counts from 1 and includes skipped empty documents. */
    record Document(int number, Node root) {
    }

    private final YAMLFactory factory = YAMLFactory.builder().build();

    /**
     * @param problems where syntax errors go; located with the parser's position
     * @return the documents read before the first syntax error, empty documents left out
     */
    List<Document> read(String text, Reporter problems) {
        List<Document> docs = new ArrayList<>();
        try (JsonParser parser = factory.createParser(text)) {
            int number = 0;
            while (parser.nextToken() != null) {
                number++;
                Node root = readValue(parser, "", problems);
                // "---" at the end, or between two, gives an empty document: nothing to load, not a mistake.
                if (!(root instanceof Node.ScalarNode s && (s.value() == null || "".equals(s.value())))) {
                    docs.add(new Document(number, root));
                }
            }
        } catch (StreamReadException e) {
            problems.at("", location(e.getLocation()), "invalid YAML: " + oneLine(e.getOriginalMessage()));
        } catch (IOException e) {
            problems.at("", Location.UNKNOWN, "cannot read YAML: " + oneLine(e.getMessage()));
        }
        return docs;
    }

    private Node readValue(JsonParser p, String path, Reporter problems) throws IOException {
        JsonToken token = p.currentToken();
        Location loc = location(p.currentTokenLocation());
        switch (token) {
            case START_OBJECT -> {
                Map<String, Node> entries = new LinkedHashMap<>();
                Map<String, Location> keyLocations = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    Location keyLoc = location(p.currentTokenLocation());
                    String childPath = YamlPaths.child(path, key);
                    p.nextToken();
                    Node value = readValue(p, childPath, problems);
                    if (entries.containsKey(key)) {
                        problems.at(childPath, keyLoc, "duplicate key '" + key + "' (first at line "
                                + keyLocations.get(key).line() + "); write each key once");
                    } else {
                        entries.put(key, value);
                        keyLocations.put(key, keyLoc);
                    }
                }
                return new Node.MapNode(entries, keyLocations, loc);
            }
            case START_ARRAY -> {
                List<Node> items = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    items.add(readValue(p, YamlPaths.item(path, items.size()), problems));
                }
                return new Node.ListNode(items, loc);
            }
            case VALUE_STRING -> {
                // Jackson's streaming parser hands over an alias (*name) as its name, not its value.
                if (p instanceof YAMLParser yaml && yaml.isCurrentAlias()) {
                    problems.at(path, loc, "YAML aliases are not supported (*" + p.getText() + "); write the value "
                            + "again, or take it from the environment with ${NAME}");
                    return new Node.ScalarNode(null, loc);
                }
                return new Node.ScalarNode(p.getText(), loc);
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                return new Node.ScalarNode(p.getNumberValue(), loc);
            }
            case VALUE_TRUE -> {
                return new Node.ScalarNode(Boolean.TRUE, loc);
            }
            case VALUE_FALSE -> {
                return new Node.ScalarNode(Boolean.FALSE, loc);
            }
            case VALUE_NULL -> {
                return new Node.ScalarNode(null, loc);
            }
            default -> {
                // e.g. !!binary: nothing in the format uses it, so say so rather than guess.
                problems.at(path, loc, "unsupported YAML value (" + token + "); write a plain string, number, "
                        + "boolean, list or mapping");
                return new Node.ScalarNode(null, loc);
            }
        }
    }

    static Location location(@Nullable JsonLocation l) {
        if (l == null || l.getLineNr() < 1) {
            return Location.UNKNOWN;
        }
        return new Location(l.getLineNr(), Math.max(l.getColumnNr(), 0));
    }

    static String oneLine(@Nullable String s) {
        if (s == null) {
            return "";
        }
        return s.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
