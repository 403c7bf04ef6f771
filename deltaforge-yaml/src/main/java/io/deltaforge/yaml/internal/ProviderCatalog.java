package io.deltaforge.yaml.internal;

import io.deltaforge.api.ConfigException;
import io.deltaforge.spi.Provider;
import io.deltaforge.spi.Providers;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The providers of each kind visible to one class loader, looked up once per load (no global registry:
 * two loaders with different class loaders see different providers).
 */
final class ProviderCatalog {
    private final ClassLoader classLoader;
    /** Per kind: the {@link Providers}, or the {@link ConfigException} that loading them raised. */
    private final Map<Class<?>, Object> loaded = new HashMap<>();

    ProviderCatalog(ClassLoader classLoader) {
        this.classLoader = classLoader;
    }

    /**
     * The provider of {@code type}, or null after reporting at {@code typePath} why there is none.
     *
     * @param noun the kind in words, e.g. "sink"
     */
    <P extends Provider> @Nullable P find(Class<P> kind, String noun, String type, String typePath, Reporter problems) {
        Object o = load(kind);
        if (o instanceof ConfigException e) {
            for (ConfigException.Problem p : e.problems()) {
                problems.problem(typePath, p.message());
            }
            return null;
        }
        @SuppressWarnings("unchecked")
        Providers<P> providers = (Providers<P>) o;
        Set<String> types = providers.types();
        if (!types.contains(type)) {
            String hint = Suggestions.hint(type, types);
            problems.problem(typePath, "unknown " + noun + " type '" + type + "'" + (hint.isEmpty() ? ";" : hint)
                    + " available: " + (types.isEmpty() ? "none (is the jar that provides it on the class or module path?)"
                    : String.join(", ", types)));
            return null;
        }
        return providers.get(type, typePath);
    }

    /** The type names of a kind, sorted; empty when they cannot be loaded. */
    Set<String> types(Class<? extends Provider> kind) {
        Object o = load(kind);
        return o instanceof Providers<?> p ? p.types() : Set.of();
    }

    private Object load(Class<? extends Provider> kind) {
        return loaded.computeIfAbsent(kind, k -> {
            try {
                return Providers.of(kind, classLoader);
            } catch (ConfigException e) {
                return e;
            }
        });
    }
}
