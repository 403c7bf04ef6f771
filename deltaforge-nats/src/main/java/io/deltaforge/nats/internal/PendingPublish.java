package io.deltaforge.nats.internal;

/**
 * One publish waiting for its PubAck in a {@link PendingReplies} table. It is answered exactly once: by its
 * reply, by its deadline, by its connection closing, or by the publish failing to go out, whichever takes it
 * out of the table first.
 */
abstract class PendingPublish {
    /** Set by the table before the publish goes out; read by the thread that takes it out. */
    long replyNumber;
    long deadlineNanos;
    private volatile boolean answered;

    /** Whether it was answered; the batch's ack timer looks for the oldest that was not. */
    final boolean answered() {
        return answered;
    }

    /** Called once, by the thread that took this publish out of its table. */
    final void answer(PubAcks.Outcome outcome) {
        answered = true;
        onAnswer(outcome);
    }

    /** Gives back the publish's window places and records what the reply said. */
    protected abstract void onAnswer(PubAcks.Outcome outcome);
}
