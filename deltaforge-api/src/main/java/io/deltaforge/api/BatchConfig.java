package io.deltaforge.api;

import java.time.Duration;
import java.util.Objects;

/**
 * When a batch closes: at {@code maxEvents} events, {@code maxBytes} encoded bytes, or {@code maxWait}
 * after its first event, whichever comes first; and when the source goes idle.
 *
 * <pre>{@code BatchConfig.defaults().withMaxEvents(500).withMaxWait(Duration.ofMillis(500)) }</pre>
 *
 * @param maxEvents       at least 1
 * @param maxBytes        at least 1; the sum of encoded payload sizes
 * @param maxWait         at least 1 ms
 * @param respectSourceTx when true a batch ends only at a transaction boundary, unless one transaction
 *                        alone exceeds the limits; the checkpoint moves only at commits either way
 */
public record BatchConfig(int maxEvents, long maxBytes, Duration maxWait, boolean respectSourceTx) {
    public BatchConfig {
        if (maxEvents < 1) {
            throw new IllegalArgumentException("maxEvents must be at least 1, was " + maxEvents);
        }
        if (maxBytes < 1) {
            throw new IllegalArgumentException("maxBytes must be at least 1, was " + maxBytes);
        }
        Objects.requireNonNull(maxWait, "maxWait");
        if (maxWait.toMillis() < 1) {
            throw new IllegalArgumentException("maxWait must be at least 1 ms, was " + maxWait);
        }
    }

    /** 500 events, 4 MiB, 100 ms, transactions kept together. */
    public static BatchConfig defaults() {
        return new BatchConfig(500, 4L << 20, Duration.ofMillis(100), true);
    }

    public BatchConfig withMaxEvents(int n) {
        return new BatchConfig(n, maxBytes, maxWait, respectSourceTx);
    }

    public BatchConfig withMaxBytes(long n) {
        return new BatchConfig(maxEvents, n, maxWait, respectSourceTx);
    }

    public BatchConfig withMaxWait(Duration d) {
        return new BatchConfig(maxEvents, maxBytes, d, respectSourceTx);
    }

    public BatchConfig withRespectSourceTx(boolean b) {
        return new BatchConfig(maxEvents, maxBytes, maxWait, b);
    }
}
