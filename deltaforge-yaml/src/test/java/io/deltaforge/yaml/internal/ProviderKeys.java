package io.deltaforge.yaml.internal;

import io.deltaforge.api.ConfigException;
import io.deltaforge.spi.CommitPolicyProvider;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.Provider;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.SinkProvider;
import io.deltaforge.spi.SourceProvider;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * The keys each built-in provider accepts, learnt without connecting anywhere: the provider is created with
 * a config holding one key nobody reads, and {@link ProviderConfig#throwIfInvalid()} answers with "unknown
 * key; known keys: ..." listing every key the provider read. Providers read all their keys before
 * checking (the SPI asks them to), so the list is complete; a key read only in some branch (after another
 * key has a certain value) would be missed, which the reference test would then not catch.
 */
final class ProviderKeys {
    static final String PROBE = "deltaforge_docs_probe";

    /** A built-in provider: kind ("source", "sink", "envelope", "commit policy"), type and its keys, sorted. */
    record Keys(String kind, String type, List<String> keys) {
    }

    private ProviderKeys() {
    }

    /** Every provider on the class path that is not a test stand-in of this module. */
    static List<Keys> builtIn() {
        List<Keys> out = new ArrayList<>();
        add(out, "source", SourceProvider.class, (p, c) -> p.create(c));
        add(out, "sink", SinkProvider.class, (p, c) -> p.create(c));
        add(out, "envelope", EnvelopeProvider.class, (p, c) -> p.create(c));
        add(out, "commit policy", CommitPolicyProvider.class, (p, c) -> p.create(c));
        return out;
    }

    private interface Factory<P> {
        Object create(P provider, ProviderConfig config);
    }

    private static <P extends Provider> void add(List<Keys> out, String kind, Class<P> type, Factory<P> factory) {
        for (P p : ServiceLoader.load(type, ProviderKeys.class.getClassLoader())) {
            if (p.getClass().getName().startsWith("io.deltaforge.yaml.")) {
                continue;
            }
            out.add(new Keys(kind, p.type(), keys(p, factory)));
        }
    }

    /**
     * The provider's keys, sorted; a key that is itself a section with known keys (it answers a probe
     * inside it with "unknown key; known keys: ...") adds its keys as {@code key.sub}.
     */
    private static <P extends Provider> List<String> keys(P provider, Factory<P> factory) {
        List<String> top = probe(provider, factory, null);
        if (top == null) {
            throw new AssertionError(provider.getClass().getName() + " did not report the unknown key " + PROBE
                    + "; does it call config.throwIfInvalid()?");
        }
        List<String> out = new ArrayList<>(top);
        for (String key : top) {
            List<String> nested = probe(provider, factory, key);
            if (nested != null) {
                nested.forEach(k -> out.add(key + "." + k));
            }
        }
        return out.stream().sorted().toList();
    }

    /** The known keys the provider lists for the probe key, at top level or inside {@code section}. */
    private static <P extends Provider> @org.jspecify.annotations.Nullable List<String> probe(
            P provider, Factory<P> factory, @org.jspecify.annotations.Nullable String section) {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put(section == null ? PROBE : section, section == null ? "x" : Map.of(PROBE, "x"));
        String path = "c." + (section == null ? "" : section + ".") + PROBE;
        String prefix = "unknown key; known keys: ";
        try {
            factory.create(provider, ProviderConfig.of("c", config, new ProviderConfig.PipelineInfo("probe", null)));
        } catch (ConfigException e) {
            for (ConfigException.Problem problem : e.problems()) {
                if (problem.path().equals(path) && problem.message().startsWith(prefix)) {
                    return Arrays.stream(problem.message().substring(prefix.length()).split(","))
                            .map(String::strip).filter(k -> !k.isEmpty()).toList();
                }
            }
        } catch (RuntimeException e) {
            // A provider may choke on a mapping where it expects a value: then the key is no section.
        }
        return null;
    }
}
