package io.deltaforge.spi;

/**
 * Creates a {@link Envelope} from configuration; found with {@link java.util.ServiceLoader} through
 * {@code META-INF/services/io.deltaforge.spi.EnvelopeProvider}.
 */
public interface EnvelopeProvider extends Provider {
    /**
     * Builds the envelope from its configuration section. Reads each key through {@code config}, which
     * records a problem for a missing, mistyped or unknown key; throws the collected problems with
     * {@link ProviderConfig#throwIfInvalid()} rather than stopping at the first.
     */
    Envelope create(ProviderConfig config);
}
