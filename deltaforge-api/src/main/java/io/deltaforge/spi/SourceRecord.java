package io.deltaforge.spi;

/**
 * What a {@link Source} hands the engine, in log order: {@link io.deltaforge.api.ChangeEvent}s, each
 * transaction closed by a {@link TransactionCommit}, and {@link Heartbeat}s while idle.
 */
public interface SourceRecord {
}
