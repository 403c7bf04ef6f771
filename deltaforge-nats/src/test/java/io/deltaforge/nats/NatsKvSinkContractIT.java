package io.deltaforge.nats;

import io.deltaforge.api.TableId;
import io.deltaforge.spi.Sink;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.SinkContract;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * The KV sink honours the contract every sink owes the engine. The contract's rows reuse their ids across
 * batches, so the bucket keeps the full history (64 per key) and the stored ids are read from its stream.
 */
class NatsKvSinkContractIT extends SinkContract {
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
    void noBucket() throws Exception {
        admin = nats.connect();
        jsm = admin.jetStreamManagement();
        Streams.deleteAll(nats, jsm);
    }

    @AfterEach
    void closeAdmin() throws Exception {
        admin.close();
    }

    @Override
    protected Sink newSink() {
        return NatsKvSink.builder().id("contract-kv").url(nats.url()).bucket("contract").createBucket(true)
                .history(64).keyColumns(TableId.parse("public.contract_rows"), List.of("id")).build();
    }

    @Override
    protected List<String> storedIds() throws Exception {
        long count = jsm.getStreamInfo("KV_contract").getStreamState().getMsgCount();
        List<String> ids = new ArrayList<>();
        for (long seq = 1; seq <= count; seq++) {
            ids.add(jsm.getMessage("KV_contract", seq).getHeaders().getFirst("Nats-Msg-Id"));
        }
        return ids;
    }
}
