package io.deltaforge.api.internal;

import static io.deltaforge.api.internal.Fakes.tx;
import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.SourceRecord;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeldBySinkTest {
    private static List<ChangeEvent> events(List<SourceRecord> records) {
        return records.stream().filter(r -> r instanceof ChangeEvent).map(r -> (ChangeEvent) r).toList();
    }

    private static Batch batch(List<ChangeEvent> events, boolean continues) {
        return new Batch(1, events, events.stream().map(Fakes.TEXT::encode).toList(), continues);
    }

    @Test
    void aBatchLeftWithoutTheHeldTailOfATransactionThatGoesOnNoLongerSaysItGoesOn() {
        List<ChangeEvent> first = events(tx(1, 100, 3));
        List<ChangeEvent> second = events(tx(2, 200, 4)).subList(0, 2);
        List<ChangeEvent> all = new ArrayList<>(first);
        all.addAll(second);
        Batch continuing = batch(all, true);

        assertThat(HeldBySink.stillContinues(continuing, first)).isFalse();
        assertThat(HeldBySink.stillContinues(continuing, List.of())).isFalse();
        assertThat(HeldBySink.stillContinues(continuing, List.of(first.get(0), second.get(1)))).isTrue();
        assertThat(HeldBySink.stillContinues(batch(first, false), first.subList(0, 2))).isFalse();
    }
}
