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
import org.yaml.snakeyaml.LoaderOptions;

/**
 * Parses YAML text (one or more {@code ---}-separated documents) into {@link Node} trees that keep each
 * value's line and column. Syntax errors and duplicate keys become problems.
 *
 * <p>Hostile or mistaken input is bounded: text over {@value #MAX_CHARS} characters and nesting deeper than
 * {@value #MAX_DEPTH} levels are problems, read no further. Aliases ({@code *name}) are problems too: Jackson's
 * streaming parser never expands them (so an alias bomb costs nothing) but would hand over the alias's name
 * as if it were the value. SnakeYAML's {@code LoaderOptions} limits on aliases and nesting belong to its
 * composer, which Jackson does not use; its code point limit (the reader's) is set to the same bound.
 */
final class YamlReader {
    /** Characters of YAML text at most: a real configuration is a few kilobytes. */
    static final int MAX_CHARS = 1 << 20;
    /** Levels of nested mappings and lists at most: the format needs about six. */
    static final int MAX_DEPTH = 64;

    /** One non-empty document; {@code number} counts from 1 and includes skipped empty documents. */
    record Document(int number, Node root) {
    }

    private final YAMLFactory factory = YAMLFactory.builder().loaderOptions(loaderOptions()).build();

    private static LoaderOptions loaderOptions() {
        LoaderOptions options = new LoaderOptions();
        options.setCodePointLimit(MAX_CHARS);
        return options;
    }

    /** Stops reading a document nested too deep; the problem is already reported. */
    private static final class TooDeep extends RuntimeException {
        TooDeep() {
            super(null, null, false, false);
        }
    }

    /**
     * @param problems where syntax errors go; located with the parser's position
     * @return the documents read before the first syntax error, empty documents left out
     */
    List<Document> read(String text, Reporter problems) {
        List<Document> docs = new ArrayList<>();
        if (text.length() > MAX_CHARS) {
            problems.at("", Location.UNKNOWN, "too large: " + text.length() + " characters, at most " + MAX_CHARS
                    + "; is this the right file?");
            return docs;
        }
        try (JsonParser parser = factory.createParser(text)) {
            int number = 0;
            while (parser.nextToken() != null) {
                number++;
                Node root = readValue(parser, "", 0, problems);
                // "---" at the end, or between two, gives an empty document: nothing to load, not a mistake.
                if (!(root instanceof Node.ScalarNode s && (s.value() == null || "".equals(s.value())))) {
                    docs.add(new Document(number, root));
                }
            }
        } catch (TooDeep e) {
            return docs;
        } catch (StreamReadException e) {
            problems.at("", location(e.getLocation()), "invalid YAML: " + oneLine(e.getOriginalMessage()));
        } catch (IOException e) {
            problems.at("", Location.UNKNOWN, "cannot read YAML: " + oneLine(e.getMessage()));
        }
        return docs;
    }

    private Node readValue(JsonParser p, String path, int depth, Reporter problems) throws IOException {
        JsonToken token = p.currentToken();
        Location loc = location(p.currentTokenLocation());
        if (depth >= MAX_DEPTH && (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY)) {
            problems.at(path, loc, "nested more than " + MAX_DEPTH + " levels deep; a pipeline needs only a few");
            throw new TooDeep();
        }
        switch (token) {
            case START_OBJECT -> {
                Map<String, Node> entries = new LinkedHashMap<>();
                Map<String, Location> keyLocations = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    Location keyLoc = location(p.currentTokenLocation());
                    String childPath = YamlPaths.child(path, key);
                    p.nextToken();
                    Node value = readValue(p, childPath, depth + 1, problems);
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
                    items.add(readValue(p, YamlPaths.item(path, items.size()), depth + 1, problems));
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
