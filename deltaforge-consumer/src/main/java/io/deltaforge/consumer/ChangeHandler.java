package io.deltaforge.consumer;

/**
 * Handles one change. Returning acknowledges the message; throwing makes the consumer try again after a
 * backoff (see {@link DeltaforgeConsumer.Builder#maxDeliver}). Called from the consumer's single thread, one
 * message at a time, in stream order.
 */
@FunctionalInterface
public interface ChangeHandler {
    void handle(ChangeMessage change) throws Exception;
}
