/**
 * The NATS JetStream sink: {@link io.deltaforge.nats.NatsSink} and its provider, type {@code nats}.
 */
@NullMarked
package io.deltaforge.nats;

import org.jspecify.annotations.NullMarked;
