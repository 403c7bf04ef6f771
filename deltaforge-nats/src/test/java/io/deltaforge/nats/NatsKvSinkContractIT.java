package io.deltaforge.nats;

import io.deltaforge.api.TableId;
import io.deltaforge.spi.Sink;
import io.deltaforge.testkit.SinkContract;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The KV sink honours the contract every sink owes the engine. The contract's rows reuse their ids across
 * batches, so the bucket keeps the full history (64 per key) and the stored ids are read from its stream.
 */
class NatsKvSinkContractIT extends SinkContract {
    @RegisterExtension
    static final JetStreamServer nats = new JetStreamServer();

    @Override
    protected Sink newSink() {
        return NatsKvSink.builder().id("contract-kv").url(nats.url()).bucket("contract").createBucket(true)
                .history(64).keyColumns(TableId.parse("public.contract_rows"), List.of("id")).build();
    }

    @Override
    protected List<String> storedIds() throws Exception {
        long count = nats.jsm().getStreamInfo("KV_contract").getStreamState().getMsgCount();
        List<String> ids = new ArrayList<>();
        for (long seq = 1; seq <= count; seq++) {
            ids.add(nats.jsm().getMessage("KV_contract", seq).getHeaders().getFirst("Nats-Msg-Id"));
        }
        return ids;
    }
}
