package io.deltaforge.spi;

/**
 * Creates a {@link Source} from configuration; found with {@link java.util.ServiceLoader} through
 * {@code META-INF/services/io.deltaforge.spi.SourceProvider}.
 */
public interface SourceProvider extends Provider {
    /**
     * Builds the source from its configuration section. Reads each key through {@code config}, which
     * records a problem for a missing, mistyped or unknown key; throws the collected problems with
     * {@link ProviderConfig#throwIfInvalid()} rather than stopping at the first.
     */
    Source create(ProviderConfig config);
}
