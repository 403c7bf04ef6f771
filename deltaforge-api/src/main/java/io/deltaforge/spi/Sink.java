package io.deltaforge.spi;

import io.deltaforge.api.Lsn;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * Delivers batches of encoded events somewhere durable.
 *
 * <p>The engine calls {@link #start()} once, then {@link #send(Batch)} one call at a time, batch after
 * batch in log order, possibly before earlier sends have completed (up to the sink's in-flight window,
 * which {@code send} enforces by blocking). Calls never overlap, and each sees what the ones before it did,
 * but they need not come from the same thread: for a pipeline's only sink, the engine sends a small batch from
 * the thread that made it when the sink has nothing else to send, rather than wake the sink's own thread. The
 * returned stage completes normally only once every message of the batch is durably accepted; the engine
 * acknowledges the source only after that. Any failure other than
 * {@link io.deltaforge.api.RetryableException} is permanent.
 *
 * <p>Order, including after a failure, is the engine's job; a sink only stores what it is given, in the
 * order of the {@code send} calls. When a stage fails with {@link io.deltaforge.api.RetryableException},
 * the engine waits a backoff, then sends that batch again followed by every later batch it had already
 * sent to this sink, whether those succeeded, failed or are still pending, in the same order, and only then
 * anything newer. So the {@code send} calls a sink sees are always in log order except for such replays: a
 * replay goes back to a batch whose stage failed retryably and repeats everything sent since, in order (it
 * may include a batch the engine had started sending when it learned of the failure). Answers to the sends
 * a replay supersedes are ignored. A later batch that was stored before the failed one must go again too:
 * the failed one may have left a hole before it. Sending the same message twice must therefore be harmless:
 * de-duplicate on {@link Message#id()}, or accept copies (at-least-once) whose first copies are in order.
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
     * The ids of the events of source {@code sourceId} whose transactions committed at or after
     * {@code commitLsn} that the destination provably holds already. The engine asks after
     * {@link #start()} before the first send, and again before every resend that follows a
     * {@link io.deltaforge.api.RetryableException}, with the commit LSN of the first event it is about to send;
     * it then leaves every event whose {@link io.deltaforge.api.ChangeEvent#id() id} is in the answer out of
     * what it sends to this sink (and counts it as delivered to this sink). That is what keeps a restart, or a
     * resend after a long outage, from storing events twice in a destination whose de-duplication forgets.
     *
     * <p>Answer only ids that are really stored: an id in the answer is never sent again, so a wrong one is a
     * lost event. Ids missing from the answer are merely sent again. The answer may be incomplete (for
     * example, when looking further back would take too long). Called like {@link #send}: never while
     * a send runs.
     *
     * @param sourceId  the source's configured id ({@link io.deltaforge.api.ChangeEvent#sourceId()})
     * @param commitLsn the commit LSN of the first event about to be sent; stored events of earlier
     *                  transactions need not be reported
     * @return stored event ids, never null; the default, for sinks that cannot tell, is empty: everything is
     *         sent again, as before this method existed
     * @throws io.deltaforge.api.RetryableException when the destination cannot be reached yet: the engine
     *         backs off and asks again, sending nothing before it has an answer
     * @throws RuntimeException any other: the destination cannot answer at all, and the engine sends everything
     */
    @Incubating
    default Set<String> storedSince(String sourceId, Lsn commitLsn) {
        return Set.of();
    }

    /**
     * Whether this sink stores each transaction, or each part of {@link Batch#TRANSACTION_PART} events of a
     * bigger one, as one unit (NATS: JetStream atomic batches). The engine then splits a transaction bigger
     * than a batch only at part boundaries, so a batch may grow to a whole part ({@value Batch#TRANSACTION_PART}
     * events) beyond {@code max_events} and {@code max_bytes}. Asked once as the pipeline starts, from the
     * configuration: the answer must not depend on {@link #start()} having succeeded.
     *
     * @return false by default: batches keep their size limits
     */
    @Incubating
    default boolean storesTransactionParts() {
        return false;
    }

    /**
     * Sends a batch; see the class comment for the contract. May block while the in-flight window is
     * full; must not throw: failures go into the stage (also for a send before {@link #start()} or after
     * {@link #close()}).
     */
    CompletionStage<Void> send(Batch batch);

    /**
     * Releases resources; called after the last send completed or the pipeline gave up. A second call does
     * nothing.
     */
    @Override
    default void close() {
    }
}
