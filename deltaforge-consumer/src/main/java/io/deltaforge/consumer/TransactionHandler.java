package io.deltaforge.consumer;

/**
 * Handles one whole transaction. Returning acknowledges all its messages; throwing hands the same transaction
 * again after a backoff. Called from the consumer's thread, one transaction at a time, in commit order.
 */
@FunctionalInterface
public interface TransactionHandler {
    void handle(ChangeTransaction transaction) throws Exception;
}
