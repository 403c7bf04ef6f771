package io.deltaforge.nats;

/**
 * Whether a {@link NatsSink} publishes each source transaction as JetStream atomic batches
 * ({@code atomic_transactions}), so that a consumer never sees part of one.
 *
 * <pre>{@code
 * NatsSink.builder()...atomicTransactions(AtomicTransactions.ON).build();
 * }</pre>
 */
public enum AtomicTransactions {
    /**
     * When the server supports atomic batch publish (nats-server 2.12 or newer) and the stream allows it
     * ({@code allow_atomic}); else events are published one by one, as with {@link #OFF}, and start logs why.
     */
    AUTO,
    /** Always; start fails naming the server or stream and the fix when it cannot. */
    ON,
    /** Never: every event is published on its own, and a consumer may see part of a transaction. */
    OFF
}
