package io.deltaforge.consumer;

import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The changes of one PostgreSQL transaction, in capture order, as {@link DeltaforgeConsumer.Builder#transactionHandler}
 * hands them.
 *
 * @param transactionId the transaction id, as every change carries it; null for a change without one, which
 *                      then comes alone
 * @param changes       its changes in stream (capture) order; never empty
 * @param attempt       1 the first time, counting redeliveries and retries
 */
public record ChangeTransaction(@Nullable String transactionId, List<ChangeMessage> changes, long attempt) {
    public ChangeTransaction {
        changes = List.copyOf(changes);
        if (changes.isEmpty()) {
            throw new IllegalArgumentException("a transaction has at least one change");
        }
        Objects.requireNonNull(changes.get(0), "changes[0]");
    }
}
