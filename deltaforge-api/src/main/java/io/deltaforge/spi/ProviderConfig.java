package io.deltaforge.spi;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.ConfigException.Problem;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * One provider's configuration section, as parsed from YAML (or built in code), with typed getters that
 * record every problem under its full path instead of failing at the first one.
 *
 * <pre>{@code
 * String url = config.requiredString("url");
 * int timeout = config.integer("send_timeout_secs", 5, 1, 3600);
 * config.throwIfInvalid();   // unknown keys and all problems above, together
 * }</pre>
 *
 * <p>Not thread-safe; used once, by one provider, while it creates its object.
 */
public final class ProviderConfig {
    private final String path;
    private final Map<String, @Nullable Object> values;
    private final PipelineInfo pipeline;
    private final Set<String> read = new HashSet<>();
    private final List<Problem> problems;

    private ProviderConfig(String path, Map<String, @Nullable Object> values, PipelineInfo pipeline,
                           List<Problem> problems) {
        this.path = path;
        this.values = values;
        this.pipeline = pipeline;
        this.problems = problems;
    }

    /**
     * @param path     where this section is, e.g. {@code spec.sinks[0].config}; used in messages
     * @param values   the section's keys and values (strings, numbers, booleans, lists, maps)
     * @param pipeline facts about the pipeline the provider may use (name, tenant)
     */
    public static ProviderConfig of(String path, Map<String, ?> values, PipelineInfo pipeline) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(values, "values");
        Objects.requireNonNull(pipeline, "pipeline");
        return new ProviderConfig(path, new LinkedHashMap<>(values), pipeline, new ArrayList<>());
    }

    public String path() {
        return path;
    }

    public PipelineInfo pipeline() {
        return pipeline;
    }

    /** The full path of a key, for messages. */
    public String pathOf(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    public boolean has(String key) {
        read.add(key);
        return values.get(key) != null;
    }

    /** The raw value, marking the key as known. */
    public @Nullable Object raw(String key) {
        read.add(key);
        return values.get(key);
    }

    public String requiredString(String key) {
        Object v = raw(key);
        if (v == null || v.toString().isBlank()) {
            problem(key, "is required");
            return "";
        }
        return asString(key, v);
    }

    public @Nullable String string(String key) {
        Object v = raw(key);
        return v == null ? null : asString(key, v);
    }

    public String string(String key, String defaultValue) {
        String v = string(key);
        return v == null ? defaultValue : v;
    }

    public int integer(String key, int defaultValue, int min, int max) {
        return (int) number(key, defaultValue, min, max);
    }

    public long number(String key, long defaultValue, long min, long max) {
        Object v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        long n;
        if (v instanceof Number num && !(v instanceof Double) && !(v instanceof Float)) {
            n = num.longValue();
        } else {
            try {
                n = Long.parseLong(v.toString().trim());
            } catch (NumberFormatException e) {
                problem(key, "'" + v + "' is not a whole number");
                return defaultValue;
            }
        }
        if (n < min || n > max) {
            problem(key, n + " is out of range; expected " + min + " to " + max);
            return defaultValue;
        }
        return n;
    }

    public boolean bool(String key, boolean defaultValue) {
        Object v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        String s = v.toString().trim();
        if (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false")) {
            return Boolean.parseBoolean(s);
        }
        problem(key, "'" + v + "' is not a boolean; expected true or false");
        return defaultValue;
    }

    /** A duration given in whole seconds. */
    public Duration seconds(String key, Duration defaultValue, long minSeconds, long maxSeconds) {
        return has(key) ? Duration.ofSeconds(number(key, defaultValue.toSeconds(), minSeconds, maxSeconds))
                : defaultValue;
    }

    public List<String> stringList(String key) {
        Object v = raw(key);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> list)) {
            problem(key, "expected a list of strings");
            return List.of();
        }
        List<String> out = new ArrayList<>(list.size());
        for (Object o : list) {
            if (o == null) {
                problem(key, "contains an empty entry");
            } else {
                out.add(o.toString());
            }
        }
        return List.copyOf(out);
    }

    /** A nested section, sharing this one's problem list; null when absent or not a map. */
    public @Nullable ProviderConfig section(String key) {
        Object v = raw(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof Map<?, ?> map)) {
            problem(key, "expected a mapping of keys to values");
            return null;
        }
        Map<String, @Nullable Object> copy = new LinkedHashMap<>();
        map.forEach((k, val) -> copy.put(String.valueOf(k), val));
        return new ProviderConfig(pathOf(key), copy, pipeline, problems);
    }

    /** Records a problem with a key; the message says what is wrong and how to fix it. */
    public void problem(String key, String message) {
        problems.add(new Problem(pathOf(key), message));
    }

    /** The keys present but never read: misspellings, usually. */
    public List<String> unknownKeys() {
        List<String> unknown = new ArrayList<>();
        for (String key : values.keySet()) {
            if (!read.contains(key)) {
                unknown.add(key);
            }
        }
        return unknown;
    }

    /**
     * Throws a {@link ConfigException} with every problem recorded so far, plus one per unknown key
     * (listing the known ones); does nothing when all is well. Call it after reading every key.
     */
    public void throwIfInvalid() {
        for (String key : unknownKeys()) {
            problem(key, "unknown key; known keys: " + String.join(", ", new java.util.TreeSet<>(read)));
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
    }

    private String asString(String key, Object v) {
        if (v instanceof Map || v instanceof List) {
            problem(key, "expected a single value, not a " + (v instanceof Map ? "mapping" : "list"));
            return "";
        }
        return v.toString();
    }

    /**
     * Facts about the pipeline a provider may use.
     *
     * @param name   the pipeline's name ({@code metadata.name}), never null
     * @param tenant {@code metadata.tenant}, null when not set
     */
    public record PipelineInfo(String name, @Nullable String tenant) {
        public PipelineInfo {
            Objects.requireNonNull(name, "name");
        }
    }
}
