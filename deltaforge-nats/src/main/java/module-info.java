/** The NATS JetStream sink, type {@code nats}. */
module io.deltaforge.nats {
    requires transitive io.deltaforge.api;
    requires io.nats.jnats;
    requires org.slf4j;

    exports io.deltaforge.nats;

    provides io.deltaforge.spi.SinkProvider with io.deltaforge.nats.NatsSinkProvider;
}
