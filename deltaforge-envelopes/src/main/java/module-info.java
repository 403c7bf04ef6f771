/** The envelopes {@code cloudevents}, {@code native}, {@code debezium} and {@code outbox}. */
module io.deltaforge.envelopes {
    requires transitive io.deltaforge.api;
    // Only CloudEventsEnvelope.toCloudEvent needs the CloudEvents SDK; without it, everything else works.
    requires static transitive io.cloudevents.api;
    requires static io.cloudevents.core;
    requires com.fasterxml.jackson.core;

    exports io.deltaforge.envelopes;

    provides io.deltaforge.spi.EnvelopeProvider with
            io.deltaforge.envelopes.internal.CloudEventsEnvelopeProvider,
            io.deltaforge.envelopes.internal.NativeEnvelopeProvider,
            io.deltaforge.envelopes.internal.DebeziumEnvelopeProvider,
            io.deltaforge.envelopes.internal.OutboxEnvelopeProvider;
}
