/**
 * The {@code deltaforge/v1} YAML format: {@link io.deltaforge.yaml.PipelineConfigLoader} turns files into
 * {@link io.deltaforge.api.Pipeline}s. The command line that runs or validates them is {@code deltaforge-runner}.
 */
@NullMarked
package io.deltaforge.yaml;

import org.jspecify.annotations.NullMarked;
