/** Implementation of the NATS sink; not a public API, may change at any time. */
@NullMarked
package io.deltaforge.nats.internal;

import org.jspecify.annotations.NullMarked;
