package io.deltaforge.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.deltaforge.spi.Batch;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Transaction markers ({@link Batch#markers()}) on the sink's {@code transaction_subject}. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NatsSinkTransactionMarkersIT {
    @RegisterExtension
    static final JetStreamServer nats = new JetStreamServer();
    private final List<NatsSink> sinks = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        sinks.forEach(NatsSink::close);
    }

    private NatsSink sink(String subject, boolean create) {
        NatsSink sink = NatsSink.builder().id("txm-nats").url(nats.url()).subject(subject).stream("TXM")
                .createStream(create).atomicTransactions(AtomicTransactions.OFF).build();
        sinks.add(sink);
        return sink;
    }

    @Test
    void aCreatedStreamCapturesTheTransactionSubjectAndMarkersGoThereAroundTheirEvents() throws Exception {
        NatsSink sink = sink("txm.{schema}.{table}", true);
        sink.start();
        assertThat(nats.jsm().getStreamInfo("TXM").getConfiguration().getSubjects())
                .containsExactly("txm.*.*", "txm.transaction");
        Batch batch = Batches.withMarkers(new Batches("pg").batch(2));

        sink.send(batch).toCompletableFuture().get(30, TimeUnit.SECONDS);

        List<String> stored = new ArrayList<>();
        for (long seq = 1; seq <= 4; seq++) {
            var m = nats.jsm().getMessage("TXM", seq);
            stored.add(m.getSubject() + " " + new String(m.getData(), StandardCharsets.UTF_8));
        }
        assertThat(stored.get(0)).isEqualTo("txm.transaction {\"status\":\"BEGIN\"}");
        assertThat(stored.get(1)).startsWith("txm.public.users ");
        assertThat(stored.get(2)).startsWith("txm.public.users ");
        assertThat(stored.get(3)).isEqualTo("txm.transaction {\"status\":\"END\"}");
        // The markers count as the source's stored messages: a replay leaves them out as it leaves out events.
        assertThat(sink.storedSince("pg", batch.events().get(0).position().commitLsn()))
                .contains(batch.markers().get(0).message().id(), batch.markers().get(1).message().id())
                .hasSize(4);
    }

    @Test
    void aStreamThatDoesNotCaptureTheTransactionSubjectIsNotedByCheckAndFailsABatchWithMarkers() throws Exception {
        Streams.add(nats.jsm(), StreamConfiguration.builder().name("TXM").subjects("txm.*.*")
                .storageType(StorageType.File).duplicateWindow(Duration.ofSeconds(60)).build());
        NatsSink sink = sink("txm.{schema}.{table}", false);
        assertThat(sink.check()).anyMatch(note -> note.contains("transaction_subject 'txm.transaction'"));
        sink.start();
        Batches batches = new Batches("pg");

        sink.send(batches.batch(2)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThatThrownBy(() -> sink.send(Batches.withMarkers(batches.batch(2))).toCompletableFuture()
                .get(30, TimeUnit.SECONDS)).cause().isInstanceOf(DeltaforgeException.class)
                .isNotInstanceOf(RetryableException.class).hasMessageContaining("transaction_subject");
    }
}
