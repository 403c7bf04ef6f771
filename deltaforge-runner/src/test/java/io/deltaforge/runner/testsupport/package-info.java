/** Helpers shared by the end-to-end and fault tests: the runner in its own JVM, a stream's contents. */
@NullMarked
package io.deltaforge.runner.testsupport;

import org.jspecify.annotations.NullMarked;
