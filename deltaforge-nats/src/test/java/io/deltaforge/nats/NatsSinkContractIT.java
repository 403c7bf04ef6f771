package io.deltaforge.nats;

import io.deltaforge.spi.Sink;
import io.deltaforge.testkit.SinkContract;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The NATS sink honours the contract every sink owes the engine, against a real JetStream. */
class NatsSinkContractIT extends SinkContract {
    @RegisterExtension
    static final JetStreamServer nats = new JetStreamServer();

    @BeforeEach
    void freshStream() throws Exception {
        Streams.add(nats.jsm(), StreamConfiguration.builder().name("CONTRACT").subjects("contract.>")
                .storageType(StorageType.File).duplicateWindow(Duration.ofMinutes(2)).build());
    }

    @Override
    protected Sink newSink() {
        return NatsSink.builder().id("contract-nats").url(nats.url()).stream("CONTRACT").subject("contract.events")
                .build();
    }

    @Override
    protected List<String> storedIds() throws Exception {
        long count = nats.jsm().getStreamInfo("CONTRACT").getStreamState().getMsgCount();
        List<String> ids = new ArrayList<>();
        for (long seq = 1; seq <= count; seq++) {
            ids.add(nats.jsm().getMessage("CONTRACT", seq).getHeaders().getFirst("Nats-Msg-Id"));
        }
        return ids;
    }
}
