package io.deltaforge.yaml.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A parsed YAML value that remembers where it was written, so that every problem can point at a line.
 * Jackson's tree model forgets locations, hence this small tree of our own.
 */
sealed interface Node permits Node.MapNode, Node.ListNode, Node.ScalarNode {
    Location location();

    /** The value as plain Java objects (maps, lists, strings, numbers, booleans, null), as providers expect. */
    @Nullable Object toPlain();

    /** What to call this kind of value in a message. */
    String describe();

    /**
     * A mapping; keys keep their order. {@code keyLocations} holds where each key was written.
     */
    record MapNode(Map<String, Node> entries, Map<String, Location> keyLocations, Location location)
            implements Node {
        public MapNode {
            entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
            keyLocations = Map.copyOf(keyLocations);
        }

        @Override
        public Map<String, @Nullable Object> toPlain() {
            Map<String, @Nullable Object> out = new LinkedHashMap<>();
            entries.forEach((k, v) -> out.put(k, v.toPlain()));
            return out;
        }

        @Override
        public String describe() {
            return "a mapping";
        }
    }

    record ListNode(List<Node> items, Location location) implements Node {
        public ListNode {
            items = List.copyOf(items);
        }

        @Override
        public List<@Nullable Object> toPlain() {
            List<@Nullable Object> out = new ArrayList<>(items.size());
            for (Node n : items) {
                out.add(n.toPlain());
            }
            return out;
        }

        @Override
        public String describe() {
            return "a list";
        }
    }

    /** A string, number (Integer, Long, BigInteger, Double, BigDecimal), boolean, or null. */
    record ScalarNode(@Nullable Object value, Location location) implements Node {
        @Override
        public @Nullable Object toPlain() {
            return value;
        }

        @Override
        public String describe() {
            if (value == null) {
                return "an empty value";
            }
            if (value instanceof String s) {
                return "'" + s + "'";
            }
            return String.valueOf(value);
        }
    }
}
