/**
 * The command line: {@link io.deltaforge.runner.Runner} runs or validates the pipelines of {@code deltaforge/v1}
 * YAML files.
 */
@NullMarked
package io.deltaforge.runner;

import org.jspecify.annotations.NullMarked;
