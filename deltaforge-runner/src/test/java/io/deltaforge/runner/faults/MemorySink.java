package io.deltaforge.runner.faults;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.Sink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A test sink that keeps every delivered message (duplicates included, so tests can count them) in a list
 * that may outlive the sink. It can fail permanently for a chosen event, or hold batches behind a gate.
 */
final class MemorySink implements Sink {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String id;
    private final List<Change> delivered;
    volatile Predicate<ChangeEvent> poison = e -> false;
    /** Completes each batch; by default at once. */
    volatile Function<Batch, CompletionStage<Void>> gate = b -> CompletableFuture.completedFuture(null);
    final List<ChangeEvent> poisoned = new CopyOnWriteArrayList<>();

    MemorySink(String id, List<Change> delivered) {
        this.id = id;
        this.delivered = delivered;
    }

    MemorySink(String id) {
        this(id, new CopyOnWriteArrayList<>());
    }

    List<Change> delivered() {
        return delivered;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public CompletionStage<Void> send(Batch batch) {
        for (ChangeEvent e : batch.events()) {
            if (poison.test(e)) {
                poisoned.add(e);
                return CompletableFuture.failedFuture(new DeltaforgeException("sink '" + id + "' rejects the "
                        + e.op().code() + " event of " + e.table() + " at LSN " + e.position().lsn()
                        + ": poison row"));
            }
        }
        return gate.apply(batch).thenRun(() -> {
            for (Message m : batch.messages()) {
                try {
                    delivered.add(StreamReader.toChange(JSON.readTree(m.payload())));
                } catch (IOException ex) {
                    throw new UncheckedIOException(ex);
                }
            }
        });
    }

    @Override
    public void close() {
    }
}
