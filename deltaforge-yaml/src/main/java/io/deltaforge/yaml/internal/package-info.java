/**
 * Implementation of the YAML loader and the runner: parsing with locations, interpolation, the
 * {@code deltaforge/v1} schema, and the supervision of running pipelines. Not an API; may change at will.
 */
@NullMarked
package io.deltaforge.yaml.internal;

import org.jspecify.annotations.NullMarked;
