package io.deltaforge.api.internal;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with jitter: the n-th consecutive failure waits about initial × 2ⁿ, capped, and
 * randomised by ±50 % so that many pipelines retrying against one server spread out.
 */
record Backoff(Duration initial, Duration max) {
    Duration delay(int attempt) {
        long base = initial.toMillis();
        long capped = Math.min(max.toMillis(), base << Math.min(attempt, 20));
        long jittered = capped / 2 + ThreadLocalRandom.current().nextLong(capped / 2 + 1) + capped / 4;
        return Duration.ofMillis(Math.min(max.toMillis(), Math.max(1, jittered)));
    }
}
