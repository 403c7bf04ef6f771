/**
 * The {@code deltaforge/v1} YAML format: {@link io.deltaforge.yaml.PipelineConfigLoader} turns files into
 * {@link io.deltaforge.api.Pipeline}s, and {@link io.deltaforge.yaml.Runner} is the command line that runs
 * or validates them.
 */
@NullMarked
package io.deltaforge.yaml;

import org.jspecify.annotations.NullMarked;
