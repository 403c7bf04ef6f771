package io.deltaforge.envelopes.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class TransactionOrderTest {
    private static final TableId A = TableId.parse("public.a");
    private static final TableId B = TableId.parse("public.b");

    private static ChangeEvent event(long commit, int index, TableId table) {
        Lsn commitLsn = new Lsn(commit);
        return new ChangeEvent(EventIds.forChange("src", commitLsn, index), "src", Op.CREATE, table, null,
                Row.of(List.of("id"), (long) index),
                new SourcePosition(commitLsn, new Lsn(commit - 10 + index), index, 7, Instant.EPOCH));
    }

    @Test
    void countsPlacesPerTransactionAndTableAndAnswersTheSameEventAlike() {
        TransactionOrder order = new TransactionOrder();
        assertThat(order.of(event(100, 0, A))).isEqualTo(new TransactionOrder.Block("7:90", 1, 1));
        assertThat(order.of(event(100, 1, B))).isEqualTo(new TransactionOrder.Block("7:91", 2, 1));
        assertThat(order.of(event(100, 1, B))).as("the same event for another sink").isEqualTo(
                new TransactionOrder.Block("7:91", 2, 1));
        assertThat(order.of(event(100, 3, A))).as("after a filtered event").isEqualTo(
                new TransactionOrder.Block("7:93", 3, 2));
        assertThat(order.of(event(100, 0, A))).as("the transaction replayed from its start").isEqualTo(
                new TransactionOrder.Block("7:90", 1, 1));
        assertThat(order.of(event(200, 0, B))).as("the next transaction").isEqualTo(
                new TransactionOrder.Block("7:190", 1, 1));
    }
}
