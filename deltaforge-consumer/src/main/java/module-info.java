/** Reads DeltaForge events back from JetStream; needs neither the engine nor the envelopes. */
module io.deltaforge.consumer {
    requires transitive io.nats.jnats;
    requires transitive com.fasterxml.jackson.databind;
    requires transitive org.jspecify;
    requires org.slf4j;

    exports io.deltaforge.consumer;
}
