package io.deltaforge.nats.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PendingRepliesTest {
    private static final long FAR = Long.MAX_VALUE / 2;

    @Test
    void aReplyFindsItsPublishOnceAndALateOrUnknownReplyFindsNothing() {
        PendingReplies replies = new PendingReplies(4);
        Publish first = new Publish();
        Publish second = new Publish();
        long a = replies.add(first, FAR);
        long b = replies.add(second, FAR);

        assertThat(a).isNotEqualTo(b);
        assertThat(replies.take(b)).isSameAs(second);
        assertThat(replies.take(b)).isNull();
        assertThat(replies.take(a + replies.capacity())).as("another number of the same slot").isNull();
        assertThat(replies.take(a)).isSameAs(first);
    }

    @Test
    void aNumberWhoseSlotIsStillTakenIsSkippedSoAStuckPublishKeepsItsSlot() {
        PendingReplies replies = new PendingReplies(2);
        Publish stuck = new Publish();
        long stuckNumber = replies.add(stuck, FAR);
        // Publishes after it come and go until the numbers wrap round to the stuck one's slot.
        for (int i = 0; i < 5; i++) {
            long n = replies.add(new Publish(), FAR);
            assertThat(n % replies.capacity()).isNotEqualTo(stuckNumber % replies.capacity());
            assertThat(replies.take(n)).isNotNull();
        }

        assertThat(replies.take(stuckNumber)).isSameAs(stuck);
    }

    @Test
    void aPublishIsTakenOutByWhicheverComesFirstAndOnlyOnce() {
        PendingReplies replies = new PendingReplies(8);
        Publish due = new Publish();
        Publish later = new Publish();
        Publish answered = new Publish();
        replies.add(due, 100);
        replies.add(later, 1_000);
        long answeredNumber = replies.add(answered, 100);
        replies.take(answeredNumber);
        List<PendingPublish> expired = new ArrayList<>();
        List<PendingPublish> closed = new ArrayList<>();

        replies.expired(500, expired::add);
        replies.takeAll(closed::add);
        replies.takeAll(closed::add);

        assertThat(expired).containsExactly(due);
        assertThat(closed).containsExactly(later);
    }

    @Test
    void thereAreAtLeastAsManySlotsAsWindowPlaces() {
        assertThat(new PendingReplies(1).capacity()).isGreaterThanOrEqualTo(1);
        assertThat(new PendingReplies(4096).capacity()).isEqualTo(4096);
        assertThat(new PendingReplies(4097).capacity()).isEqualTo(8192);
    }

    private static final class Publish extends PendingPublish {
        @Override
        protected void onAnswer(PubAcks.Outcome outcome) {
        }
    }
}
