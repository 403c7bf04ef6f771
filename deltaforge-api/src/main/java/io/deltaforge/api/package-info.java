/**
 * The public model and entry point of DeltaForge: {@link io.deltaforge.api.Pipeline} and the immutable
 * change-event values it moves from a source to its sinks.
 */
@NullMarked
package io.deltaforge.api;

import org.jspecify.annotations.NullMarked;
