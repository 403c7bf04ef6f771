package io.deltaforge.nats;

import io.deltaforge.spi.Sink;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.SinkContract;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/** The NATS sink honours the contract every sink owes the engine, against a real JetStream. */
class NatsSinkContractIT extends SinkContract {
    private static NatsServer nats;
    private Connection admin;
    private JetStreamManagement jsm;

    @BeforeAll
    static void startServer() {
        nats = NatsServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (nats != null) {
            nats.close();
        }
    }

    @BeforeEach
    void freshStream() throws Exception {
        admin = nats.connect();
        jsm = admin.jetStreamManagement();
        Streams.deleteAll(nats, jsm);
        Streams.add(jsm, StreamConfiguration.builder().name("CONTRACT").subjects("contract.>")
                .storageType(StorageType.File).duplicateWindow(Duration.ofMinutes(2)).build());
    }

    @AfterEach
    void closeAdmin() throws Exception {
        admin.close();
    }

    @Override
    protected Sink newSink() {
        return NatsSink.builder().id("contract-nats").url(nats.url()).stream("CONTRACT").subject("contract.events")
                .build();
    }

    @Override
    protected List<String> storedIds() throws Exception {
        long count = jsm.getStreamInfo("CONTRACT").getStreamState().getMsgCount();
        List<String> ids = new ArrayList<>();
        for (long seq = 1; seq <= count; seq++) {
            ids.add(jsm.getMessage("CONTRACT", seq).getHeaders().getFirst("Nats-Msg-Id"));
        }
        return ids;
    }
}
