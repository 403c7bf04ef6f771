/**
 * Implementation of the runner: the supervision of running pipelines, progress logging and the ops HTTP server.
 * Not an API; may change at will.
 */
@NullMarked
package io.deltaforge.runner.internal;

import org.jspecify.annotations.NullMarked;
