/**
 * The engine behind {@link io.deltaforge.api.Pipeline}: reader, batcher, per-sink drivers and the commit
 * coordinator. Not part of the public API; it may change in any release.
 */
@NullMarked
package io.deltaforge.api.internal;

import org.jspecify.annotations.NullMarked;
