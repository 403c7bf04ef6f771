/** The NATS JetStream sinks: stream, type {@code nats}; KV bucket, type {@code nats_kv}. */
module io.deltaforge.nats {
    requires transitive io.deltaforge.api;
    requires io.nats.jnats;
    requires org.slf4j;

    exports io.deltaforge.nats;

    provides io.deltaforge.spi.SinkProvider with io.deltaforge.nats.NatsSinkProvider,
            io.deltaforge.nats.NatsKvSinkProvider;
}
