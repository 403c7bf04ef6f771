package io.deltaforge.examples.jsonl;

import io.deltaforge.api.RetryableException;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.Sink;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Appends each message's payload as one line to a file, and syncs the file before confirming the batch:
 * a confirmed batch survives a crash, so the pipeline may acknowledge the source past it.
 *
 * <p>It does not de-duplicate: after a crash, the events replayed since the last checkpoint are appended
 * again (same ids), and readers should skip ids they have seen. A sink that must be exactly-once keys
 * its writes on {@link Message#id()}, as the NATS sink does with {@code Nats-Msg-Id}.
 */
public final class JsonLinesSink implements Sink {
    private final String id;
    private final Path path;
    private FileOutputStream out;

    public JsonLinesSink(String id, Path path) {
        this.id = id;
        this.path = path;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public void start() {
        try {
            if (path.getParent() != null) {
                Files.createDirectories(path.getParent());
            }
            out = new FileOutputStream(path.toFile(), true);
        } catch (IOException e) {
            throw new io.deltaforge.api.DeltaforgeException("sink " + id + ": cannot open " + path + ": " + e.getMessage(), e);
        }
    }

    @Override
    public CompletionStage<Void> send(Batch batch) {
        try {
            for (Message m : batch.messages()) {
                out.write(m.payload());
                out.write('\n');
            }
            out.getFD().sync();
            return CompletableFuture.completedFuture(null);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new RetryableException("sink " + id + ": writing " + path + " failed", e));
        }
    }

    @Override
    public void close() {
        try {
            if (out != null) {
                out.close();
            }
        } catch (IOException ignored) {
            // Everything confirmed was synced already.
        }
    }
}
