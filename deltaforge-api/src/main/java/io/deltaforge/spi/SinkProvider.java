package io.deltaforge.spi;

/**
 * Creates a {@link Sink} from configuration; found with {@link java.util.ServiceLoader} through
 * {@code META-INF/services/io.deltaforge.spi.SinkProvider}.
 */
public interface SinkProvider extends Provider {
    /**
     * Builds the sink from its configuration section. Reads each key through {@code config}, which
     * records a problem for a missing, mistyped or unknown key; throws the collected problems with
     * {@link ProviderConfig#throwIfInvalid()} rather than stopping at the first.
     */
    Sink create(ProviderConfig config);
}
