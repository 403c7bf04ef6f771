package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.nats.internal.OutgoingMessages.Outgoing;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.nats.client.Connection;
import io.nats.client.impl.Headers;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Publishes a batch message by message, each acknowledged on its own, in order: it stops at the first refusal.
 *
 * <p>Threads: {@link #publish} is called on the engine's single sink thread.
 */
final class EventByEventPublish {
    private final OutgoingMessages outgoing;
    private final PublishFailure fail;

    EventByEventPublish(OutgoingMessages outgoing, PublishFailure fail) {
        this.outgoing = outgoing;
        this.fail = fail;
    }

    void publish(InFlightWindow.Sending sending, Connection nc) {
        Batch batch = sending.batch();
        CompletableFuture<Void> acks = sending.acks();
        List<ChangeEvent> events = batch.events();
        List<Message> messages = batch.messages();
        for (int i = 0; i < messages.size() && !acks.isDone(); i++) {
            ChangeEvent event = events.get(i);
            Outgoing out = outgoing.build(event, messages.get(i), null, acks);
            if (out == null) {
                return;
            }
            String subject = out.subject();
            Headers headers = out.headers();
            byte[] body = out.body();
            int size = out.size();
            if (!sending.acquire(size, 1)) {
                return;
            }
            CompletableFuture<io.nats.client.Message> ack;
            try {
                // The Nats-Msg-Id (and Nats-Expected-Stream) headers are in `headers` already: without
                // PublishOptions jnats sends them as they are instead of copying the headers to merge them.
                ack = PubAcks.publish(nc, subject, headers, body);
            } catch (RuntimeException e) {
                sending.release(1, size);
                // Stop at the first refusal: later messages must not overtake this one once it resends.
                acks.completeExceptionally(fail.of(event, subject, size, e));
                return;
            }
            sending.sent(i, ack, subject, size);
            // No timer per message: jnats times out each request future itself (requestCleanupInterval),
            // which releases the window, and one timer per batch (InFlightWindow.Sending#allSent) bounds how
            // long the batch waits.
            ack.whenComplete((reply, error) -> {
                sending.release(1, size);
                PubAcks.Outcome outcome = PubAcks.read(ack, reply, error);
                if (outcome.failure() != null) {
                    acks.completeExceptionally(fail.of(event, subject, size, outcome.failure()));
                    return;
                }
                sending.stored(1, outcome.duplicate());
                sending.acknowledged();
            });
        }
        sending.allSent();
    }
}
