/**
 * Envelopes that turn {@link io.deltaforge.api.ChangeEvent}s into messages:
 * {@link io.deltaforge.envelopes.CloudEventsEnvelope} ({@code cloudevents}),
 * {@link io.deltaforge.envelopes.NativeEnvelope} ({@code native}) and
 * {@link io.deltaforge.envelopes.DebeziumEnvelope} ({@code debezium}) and
 * {@link io.deltaforge.envelopes.OutboxEnvelope} ({@code outbox}). Each is immutable, thread-safe and
 * deterministic: the same event always gives the same bytes, with {@link io.deltaforge.api.ChangeEvent#id()}
 * as the message id (the outbox envelope: the outbox row's id).
 *
 * <pre>{@code
 * Envelope envelope = CloudEventsEnvelope.withTypePrefix("com.acme.users");
 * Message m = envelope.encode(event);   // application/cloudevents+json
 * }</pre>
 */
@NullMarked
package io.deltaforge.envelopes;

import org.jspecify.annotations.NullMarked;
