package io.deltaforge.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.deltaforge.api.TableId;
import io.nats.client.api.KeyValueConfiguration;
import io.nats.client.api.PersistMode;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The KV sink's bucket checks, beyond the contract every sink owes the engine. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NatsKvSinkIT {
    @RegisterExtension
    static final JetStreamServer nats = new JetStreamServer();

    @Test
    void aBucketWhoseStreamMayAcknowledgeBeforeWritingIsNamedByTheCheckAndStillUsed() throws Exception {
        // A bucket is a stream named KV_<bucket>; no KV API makes one with asynchronous persistence.
        nats.jsm().addStream(StreamConfiguration.builder().name("KV_mirror").subjects("$KV.mirror.>")
                .storageType(StorageType.File).maxMessagesPerSubject(1).allowRollup(true).denyDelete(true)
                .allowDirect(true).persistMode(PersistMode.Async).build());
        assumeTrue(nats.jsm().getStreamInfo("KV_mirror").getConfiguration().getPersistMode() == PersistMode.Async,
                "nats-server " + nats.admin().getServerInfo().getVersion() + " has no persist_mode (needs 2.12+)");
        try (NatsKvSink sink = sink("mirror")) {
            assertThat(sink.check()).singleElement().asString()
                    .contains("KV bucket 'mirror' uses persist_mode: async (its stream KV_mirror)")
                    .contains("use a bucket whose stream has persist_mode: default");
            sink.start();
        }

        nats.admin().keyValueManagement()
                .create(KeyValueConfiguration.builder().name("plain").storageType(StorageType.File).build());
        try (NatsKvSink sink = sink("plain")) {
            assertThat(sink.check()).isEmpty();
        }
    }

    private static NatsKvSink sink(String bucket) {
        return NatsKvSink.builder().id("sink-kv").url(nats.url()).bucket(bucket)
                .keyColumns(TableId.parse("public.users"), List.of("id")).build();
    }
}
