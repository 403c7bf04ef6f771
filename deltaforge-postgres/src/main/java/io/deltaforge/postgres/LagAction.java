package io.deltaforge.postgres;

/**
 * What a {@link PostgresSource} does when its replication lag exceeds {@code max_lag_bytes} or
 * {@code max_lag_secs}: {@link #WARN} (default) logs a warning and marks the pipeline not ready (the runner's
 * {@code /ready} answers 503) until the lag is back under the limit; {@link #STOP} also stops the pipeline
 * with an error naming the slot, the lag and the limit.
 *
 * <pre>{@code PostgresSource.builder().maxLag(1L << 30, Duration.ofMinutes(10)).onLagExceeded(LagAction.STOP)}</pre>
 * <p>YAML: {@code on_lag_exceeded: warn | stop}.
 */
public enum LagAction {
    WARN,
    STOP;

    /** Parses {@code warn} / {@code stop}, ignoring case; IllegalArgumentException otherwise. */
    public static LagAction parse(String text) {
        for (LagAction a : values()) {
            if (a.name().equalsIgnoreCase(text.trim())) {
                return a;
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not a lag action; expected warn or stop");
    }
}
