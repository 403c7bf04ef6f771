package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.nats.internal.OutgoingMessages.Outgoing;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Publishes a batch message by message, each acknowledged on its own, in order: it stops at the first refusal.
 *
 * <p>Threads: {@link #publish} is called on the sending thread (the engine sends one batch at a time).
 */
final class EventByEventPublish {
    private final OutgoingMessages outgoing;
    private final PublishFailure fail;

    EventByEventPublish(OutgoingMessages outgoing, PublishFailure fail) {
        this.outgoing = outgoing;
        this.fail = fail;
    }

    void publish(InFlightWindow.Sending sending, PubAckInbox inbox) {
        Batch batch = sending.batch();
        CompletableFuture<Void> acks = sending.acks();
        List<ChangeEvent> events = batch.events();
        List<Message> messages = batch.messages();
        for (int i = 0; i < messages.size() && !acks.isDone(); i++) {
            Outgoing out = outgoing.build(events.get(i), messages.get(i), OutgoingMessages.NO_BATCH, acks);
            if (out == null || !sending.acquire(out.size(), 1)) {
                return;
            }
            EventAck ack = new EventAck(sending, out);
            // Counted before it goes out: its PubAck may come before publish returns.
            sending.sent(i, ack, out.subject(), out.size());
            // The Nats-Msg-Id (and Nats-Expected-Stream) headers are in the headers already. No timer per
            // message: the inbox fails a publish without a PubAck after the send timeout, which gives its
            // window place back, and one timer per batch (InFlightWindow.Sending#allSent) bounds how long
            // the batch waits.
            if (!inbox.publish(out.subject(), out.headers(), out.body(), ack, sending.publishClock())) {
                // Stop at the first refusal: later messages must not overtake this one once it resends.
                return;
            }
        }
        sending.allSent();
    }

    /** The PubAck of one event's message; keeps what a failure names, not the message. */
    private final class EventAck extends PendingPublish {
        private final InFlightWindow.Sending sending;
        private final ChangeEvent event;
        private final String subject;
        private final int size;

        EventAck(InFlightWindow.Sending sending, Outgoing out) {
            this.sending = sending;
            this.event = out.event();
            this.subject = out.subject();
            this.size = out.size();
        }

        @Override
        protected void onAnswer(PubAcks.Outcome outcome) {
            sending.release(1, size);
            Throwable failure = outcome.failure();
            if (failure != null) {
                sending.acks().completeExceptionally(fail.of(event, subject, size, failure));
                return;
            }
            sending.stored(1, outcome.duplicate());
            sending.acknowledged();
        }
    }
}
