/**
 * The consumer side of DeltaForge: {@link io.deltaforge.consumer.DeltaforgeConsumer} reads a JetStream stream
 * with a durable pull consumer, decodes every envelope ({@code cloudevents} structured and binary,
 * {@code native}, {@code debezium}) into one {@link io.deltaforge.consumer.ChangeMessage}, and acknowledges
 * each message after the handler returns.
 *
 * <pre>{@code
 * try (DeltaforgeConsumer consumer = DeltaforgeConsumer.builder()
 *         .url("nats://localhost:4222").stream("USERS").durable("billing")
 *         .handler(change -> System.out.println(change.op() + " " + change.table() + " " + change.after()))
 *         .build()) {
 *     consumer.start();
 *     ...
 * }
 * }</pre>
 */
@NullMarked
package io.deltaforge.consumer;

import org.jspecify.annotations.NullMarked;
