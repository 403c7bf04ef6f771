package io.deltaforge.spi;

/**
 * Creates a {@link CommitPolicy} from configuration; found with {@link java.util.ServiceLoader} through
 * {@code META-INF/services/io.deltaforge.spi.CommitPolicyProvider}.
 */
public interface CommitPolicyProvider extends Provider {
    /**
     * Builds the commit policy from its configuration section. Reads each key through {@code config}, which
     * records a problem for a missing, mistyped or unknown key; throws the collected problems with
     * {@link ProviderConfig#throwIfInvalid()} rather than stopping at the first.
     */
    CommitPolicy create(ProviderConfig config);
}
