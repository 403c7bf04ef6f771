package io.deltaforge.spi;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Delivers batches of encoded events somewhere durable.
 *
 * <p>The engine calls {@link #start()} once, then {@link #send(Batch)} from a single thread, batch after
 * batch in log order, possibly before earlier sends have completed (up to the sink's in-flight window,
 * which {@code send} enforces by blocking). The returned stage completes normally only once every
 * message of the batch is durably accepted; the engine acknowledges the source only after that. A stage
 * that fails with {@link io.deltaforge.api.RetryableException} makes the engine send the batch again
 * (after backoff, followed by every later batch, in order), so sending the same message twice must be
 * harmless: de-duplicate on {@link Message#id()}. Any other failure is permanent.
 *
 * <p>A user sink is this class, a {@link SinkProvider}, and one line in
 * {@code META-INF/services/io.deltaforge.spi.SinkProvider}.
 */
public interface Sink extends AutoCloseable {
    /** A short name for logs, metrics and errors, unique within a pipeline. */
    String id();

    /**
     * Connects and checks the destination; throws a {@link io.deltaforge.api.DeltaforgeException} that
     * names the setting and the fix when it is unusable. Called once, before the first send.
     */
    default void start() {
    }

    /**
     * Connects, checks the destination as {@link #start()} would without creating or changing anything, and
     * disconnects; for {@code deltaforge validate --check-connections}. Needs no {@link #start()}.
     *
     * @return notes worth showing (warnings; what the first start would create), empty when there are none
     * @throws io.deltaforge.api.DeltaforgeException naming the setting and the fix, as {@link #start()} would
     *         ({@link io.deltaforge.api.RetryableException} when the destination did not answer)
     * @throws UnsupportedOperationException when the sink offers no such check (the default)
     */
    default List<String> check() {
        throw new UnsupportedOperationException("sink '" + id() + "' (" + getClass().getName()
                + ") offers no connection check");
    }

    /**
     * Sends a batch; see the class comment for the contract. May block while the in-flight window is
     * full; must not throw: failures go into the stage.
     */
    CompletionStage<Void> send(Batch batch);

    /** Releases resources; called once after the last send completed or the pipeline gave up. */
    @Override
    default void close() {
    }
}
