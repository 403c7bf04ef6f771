package io.deltaforge.consumer.internal;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * A consumer's checked settings; see {@code DeltaforgeConsumer.Builder} for each. {@code transactions}: hand
 * out whole transactions (consecutive changes with the same transaction id) instead of single changes.
 */
public record PullSettings(String stream, String durable, @Nullable String filterSubject, int batchSize,
                           int maxDeliver, Duration initialBackoff, Duration maxBackoff, Duration ackWait,
                           @Nullable String deadLetterSubject, boolean transactions, int maxTransactionSize) {

    /** The wait before attempt {@code failedAttempt + 1}: doubling from the initial backoff, capped. */
    Duration backoff(long failedAttempt) {
        Duration wait = initialBackoff;
        for (long i = 1; i < failedAttempt && wait.compareTo(maxBackoff) < 0; i++) {
            wait = wait.multipliedBy(2);
        }
        return wait.compareTo(maxBackoff) > 0 ? maxBackoff : wait;
    }
}
