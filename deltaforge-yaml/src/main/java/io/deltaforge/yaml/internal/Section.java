package io.deltaforge.yaml.internal;

import java.math.BigInteger;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A mapping of the {@code deltaforge/v1} schema with typed getters that report problems at full paths
 * instead of stopping at the first. The schema's keys are declared up front, so that an unknown key can
 * be matched against them for a "did you mean".
 */
final class Section {
    private final String path;
    private final Node.MapNode node;
    private final Reporter problems;
    private final List<String> known;

    private Section(String path, Node.MapNode node, Reporter problems, List<String> known) {
        this.path = path;
        this.node = node;
        this.problems = problems;
        this.known = known;
    }

    /**
     * The section at {@code path}; null (with a problem) when the node is not a mapping.
     *
     * @param what how to describe the expected mapping in a message, e.g. "the batch settings"
     */
    static @Nullable Section of(Node node, String path, Reporter problems, String what, String... known) {
        if (node instanceof Node.MapNode map) {
            return new Section(path, map, problems, List.of(known));
        }
        problems.problem(path, "expected a mapping (" + what + "), not " + node.describe());
        return null;
    }

    String path() {
        return path;
    }

    String pathOf(String key) {
        return YamlPaths.child(path, key);
    }

    Node.MapNode node() {
        return node;
    }

    Reporter problems() {
        return problems;
    }

    /** The value of a key, null when absent or written as an empty value. */
    @Nullable Node get(String key) {
        if (!known.contains(key)) {
            throw new IllegalArgumentException("key '" + key + "' is not declared for " + path);
        }
        Node n = node.entries().get(key);
        return n instanceof Node.ScalarNode s && s.value() == null ? null : n;
    }

    boolean has(String key) {
        return get(key) != null;
    }

    @Nullable String string(String key) {
        Node n = get(key);
        if (n == null) {
            return null;
        }
        if (n instanceof Node.ScalarNode s) {
            return String.valueOf(s.value());
        }
        problems.problem(pathOf(key), "expected a single value, not " + n.describe());
        return null;
    }

    /** A non-blank string, or null after reporting {@code "is required; " + hint}. */
    @Nullable String requiredString(String key, String hint) {
        boolean present = has(key);
        String s = string(key);
        if (s == null || s.isBlank()) {
            if (!present || s != null) {
                problems.problem(pathOf(key), "is required; " + hint);
            }
            return null;
        }
        return s;
    }

    /** A whole number in [min, max]; the default when absent or invalid (after reporting). */
    long number(String key, long defaultValue, long min, long max) {
        Node n = get(key);
        if (n == null) {
            return defaultValue;
        }
        Long value = null;
        if (n instanceof Node.ScalarNode s) {
            Object v = s.value();
            if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
                value = ((Number) v).longValue();
            } else if (v instanceof BigInteger big) {
                value = big.bitLength() < 64 ? big.longValue() : (big.signum() > 0 ? Long.MAX_VALUE : Long.MIN_VALUE);
            } else if (v instanceof String str) {
                try {
                    value = Long.parseLong(str.trim());
                } catch (NumberFormatException e) {
                    value = null;
                }
            }
        }
        if (value == null) {
            problems.problem(pathOf(key), n.describe() + " is not a whole number; expected " + min + " to " + max);
            return defaultValue;
        }
        if (value < min || value > max) {
            problems.problem(pathOf(key), value + " is out of range; expected " + min + " to " + max);
            return defaultValue;
        }
        return value;
    }

    boolean bool(String key, boolean defaultValue) {
        Node n = get(key);
        if (n == null) {
            return defaultValue;
        }
        if (n instanceof Node.ScalarNode s) {
            if (s.value() instanceof Boolean b) {
                return b;
            }
            if (s.value() instanceof String str
                    && (str.trim().equalsIgnoreCase("true") || str.trim().equalsIgnoreCase("false"))) {
                return Boolean.parseBoolean(str.trim());
            }
        }
        problems.problem(pathOf(key), n.describe() + " is not a boolean; expected true or false");
        return defaultValue;
    }

    /** A nested section; null when absent or not a mapping (reported). */
    @Nullable Section section(String key, String what, String... knownKeys) {
        Node n = get(key);
        return n == null ? null : of(n, pathOf(key), problems, what, knownKeys);
    }

    /** A list; null when absent or not a list (reported). */
    Node.@Nullable ListNode list(String key, String what) {
        Node n = get(key);
        if (n == null) {
            return null;
        }
        if (n instanceof Node.ListNode l) {
            return l;
        }
        problems.problem(pathOf(key), "expected a list (" + what + "), not " + n.describe());
        return null;
    }

    /** Reports each key that the schema does not declare, with the closest declared key as a hint. */
    void reportUnknownKeys() {
        reportUnknownKeys(Set.of());
    }

    /** {@code unknown key; did you mean 'x'? known keys: a, b} (the hint only when one is close). */
    static String unknownKeyMessage(String key, List<String> known) {
        String hint = Suggestions.hint(key, known);
        return "unknown key" + (hint.isEmpty() ? ";" : hint) + " known keys: " + String.join(", ", known);
    }

    void reportUnknownKeys(Set<String> alsoAllowed) {
        for (String key : node.entries().keySet()) {
            if (!known.contains(key) && !alsoAllowed.contains(key)) {
                problems.at(pathOf(key), node.keyLocations().getOrDefault(key, node.location()),
                        unknownKeyMessage(key, known));
            }
        }
    }
}
