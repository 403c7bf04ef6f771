/**
 * The public model, the plugin interfaces (SPIs) and the engine. Implementations of the SPIs live in their
 * own modules and are found with {@link java.util.ServiceLoader}; the engine ({@code io.deltaforge.api.internal})
 * is not exported.
 */
module io.deltaforge.api {
    // Nullness annotations: read by compilers and checkers, not needed at run time.
    requires static transitive org.jspecify;
    requires transitive micrometer.core;
    requires org.slf4j;

    exports io.deltaforge.api;
    exports io.deltaforge.spi;
    // The snapshot condition grammar, for the sources that render it into their own queries.
    exports io.deltaforge.api.internal.condition to io.deltaforge.postgres;

    uses io.deltaforge.spi.SourceProvider;
    uses io.deltaforge.spi.SinkProvider;
    uses io.deltaforge.spi.EnvelopeProvider;
    uses io.deltaforge.spi.CommitPolicyProvider;
}
