/**
 * Plug-in interfaces: {@link io.deltaforge.spi.Source}, {@link io.deltaforge.spi.Sink},
 * {@link io.deltaforge.spi.Envelope}, {@link io.deltaforge.spi.CommitPolicy}, and the providers that
 * {@link java.util.ServiceLoader} finds by a short type name.
 */
@NullMarked
package io.deltaforge.spi;

import org.jspecify.annotations.NullMarked;
