/**
 * Implementation of the YAML loader: parsing with locations, interpolation and the {@code deltaforge/v1}
 * schema. Not an API; may change at will.
 */
@NullMarked
package io.deltaforge.yaml.internal;

import org.jspecify.annotations.NullMarked;
