package io.deltaforge.spi;

import io.deltaforge.api.ConfigException;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * Finds providers on the class path by type name, with {@link ServiceLoader}.
 *
 * <pre>{@code SinkProvider nats = Providers.of(SinkProvider.class, getClass().getClassLoader()).get("nats", "spec.sinks[0].type"); }</pre>
 *
 * <p>Two providers with the same type name are an error naming both classes; an unknown name is an
 * error listing the known ones. Each instance holds what it found; there is no global registry.
 */
public final class Providers<P extends Provider> {
    private final Class<P> kind;
    private final Map<String, P> byType;

    private Providers(Class<P> kind, Map<String, P> byType) {
        this.kind = kind;
        this.byType = byType;
    }

    /** Loads every provider of {@code kind} visible to {@code loader}. */
    public static <P extends Provider> Providers<P> of(Class<P> kind, ClassLoader loader) {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(loader, "loader");
        Map<String, P> found = new TreeMap<>();
        var iterator = ServiceLoader.load(kind, loader).iterator();
        while (true) {
            P provider;
            try {
                if (!iterator.hasNext()) {
                    break;
                }
                provider = iterator.next();
            } catch (ServiceConfigurationError e) {
                throw new ConfigException("", "cannot load a " + kind.getSimpleName() + ": " + e.getMessage()
                        + "; check the META-INF/services entries of the jars on the class path");
            }
            P previous = found.putIfAbsent(provider.type(), provider);
            if (previous != null && previous.getClass() != provider.getClass()) {
                throw new ConfigException("", "two " + kind.getSimpleName() + "s claim type '" + provider.type()
                        + "': " + previous.getClass().getName() + " and " + provider.getClass().getName()
                        + "; remove one jar or rename a type");
            }
        }
        return new Providers<>(kind, Map.copyOf(found));
    }

    /**
     * The provider of a type name.
     *
     * @param path where the name came from in the configuration, for the error message
     * @throws ConfigException when no provider has that name; it lists the known ones
     */
    public P get(String type, String path) {
        P provider = byType.get(type);
        if (provider == null) {
            throw new ConfigException(path, "unknown " + noun() + " type '" + type + "'; available: "
                    + (byType.isEmpty() ? "none (is the jar that provides it on the class or module path?)" : String.join(", ", new TreeMap<>(byType).keySet())));
        }
        return provider;
    }

    /** The known type names, sorted. */
    public java.util.Set<String> types() {
        return new TreeMap<>(byType).keySet();
    }

    private String noun() {
        String name = kind.getSimpleName().replace("Provider", "");
        return name.equals("CommitPolicy") ? "commit policy" : name.toLowerCase(java.util.Locale.ROOT);
    }
}
