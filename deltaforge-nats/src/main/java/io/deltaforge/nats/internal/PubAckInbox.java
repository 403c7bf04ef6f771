package io.deltaforge.nats.internal;

import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import io.nats.client.impl.Headers;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeoutException;

/**
 * The PubAcks of one connection, on a reply subscription of our own: each JetStream publish goes out with
 * the reply subject {@code <inbox>.<n>} ({@code n} its number in {@link PendingReplies}), and one handler
 * on {@code <inbox>.*} reads every reply ({@link PubAcks#read}) and answers the waiting publish directly.
 * jnats' {@code request} made a response inbox, a future and a map entry per publish and completed each
 * future on its dispatcher (about a quarter of the sink thread's and a fifth of the jnats threads' CPU in
 * a backlog drain).
 *
 * <p>It takes over what jnats' request did: a publish with no reply after the send timeout fails with a
 * {@link TimeoutException} ({@link #expire}, called by the publisher's sweeper), one whose connection closed
 * fails with a {@link CancellationException}, and a 503 status (no responder for the subject) fails as
 * {@code publishAsync} reports it. Either way the engine resends the batch.
 *
 * <p>Threads: {@link #publish} on the sending thread (the engine sends one batch at a time); replies on this
 * inbox's jnats dispatcher; {@link #expire} on the sweeper; {@link #close} on any thread.
 */
final class PubAckInbox {
    private final Connection connection;
    /** {@code <unique inbox>.}; a reply subject is this and a number. */
    private final String prefix;
    private final PendingReplies pending;
    private final Duration sendTimeout;
    private final long sendTimeoutNanos;
    /** How often {@link #expire} looks at every slot: a sweep of a million slots is not free. */
    private final long scanEveryNanos;
    /** Sweeper thread only. */
    private long lastScan = System.nanoTime();

    private PubAckInbox(Connection connection, int places, Duration sendTimeout) {
        this.connection = connection;
        this.prefix = connection.createInbox() + ".";
        this.pending = new PendingReplies(places);
        this.sendTimeout = sendTimeout;
        this.sendTimeoutNanos = sendTimeout.toNanos();
        this.scanEveryNanos = Math.max(AckDeadlines.SWEEP.toNanos(), sendTimeoutNanos / 8);
    }

    /** Subscribes the reply handler of {@code connection}, for at most {@code places} publishes in flight. */
    static PubAckInbox open(Connection connection, int places, Duration sendTimeout) {
        PubAckInbox inbox = new PubAckInbox(connection, places, sendTimeout);
        Dispatcher replies = connection.createDispatcher(inbox::onReply);
        // The in-flight window already bounds the replies that can be waiting; jnats' default limits would
        // drop replies beyond them (slow consumer) and leave their publishes to time out and be resent.
        replies.setPendingLimits(-1, -1);
        replies.subscribe(inbox.prefix + "*");
        connection.addConnectionListener(inbox.new ClosedListener());
        return inbox;
    }

    /**
     * Publishes with a reply subject of this inbox; {@code publish} is answered when its reply comes. A
     * publish jnats refuses (connection closed, too big) is answered with that failure here; returns false then.
     *
     * @param clockNanos a recent {@link System#nanoTime} reading, from which the send timeout counts: one per
     *                   publish was a visible share of the sink thread's work
     */
    boolean publish(String subject, Headers headers, byte[] body, PendingPublish publish, long clockNanos) {
        long number = -1;
        try {
            number = pending.add(publish, clockNanos + sendTimeoutNanos);
            // Not prefix + number: string concatenation goes through method handles that C1 does not inline.
            String replyTo = new StringBuilder(prefix.length() + 20).append(prefix).append(number).toString();
            connection.publish(subject, replyTo, headers, body);
            return true;
        } catch (RuntimeException e) {
            // Not added, or added and not yet answered by the connection's close (which gave its window
            // places back already): answered here, so its places are given back either way.
            if (number < 0 || pending.take(number) != null) {
                publish.answer(new PubAcks.Outcome(false, e));
            }
            return false;
        }
    }

    /** On the inbox's dispatcher, which swallows what a handler throws: nothing may escape unanswered. */
    void onReply(Message reply) {
        long number = number(reply.getSubject());
        if (number < 0) {
            return;
        }
        PubAcks.Outcome outcome;
        try {
            outcome = PubAcks.read(reply);
        } catch (RuntimeException e) {
            outcome = new PubAcks.Outcome(false, e);
        }
        PendingPublish publish = pending.take(number);
        if (publish != null) {
            publish.answer(outcome);
        }
    }

    /** The number after the prefix; -1 for anything else. */
    private long number(String subject) {
        int from = prefix.length();
        int length = subject.length();
        if (length <= from || length - from > 18 || !subject.startsWith(prefix)) {
            return -1;
        }
        long number = 0;
        for (int i = from; i < length; i++) {
            char c = subject.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            number = number * 10 + (c - '0');
        }
        return number;
    }

    /** Fails the publishes whose PubAck is overdue, giving their window places back; on the sweeper. */
    void expire(long nowNanos) {
        if (nowNanos - lastScan < scanEveryNanos) {
            return;
        }
        lastScan = nowNanos;
        pending.expired(nowNanos, publish -> publish.answer(new PubAcks.Outcome(false, noPubAck(sendTimeout))));
    }

    /** Why a publish failed that had no PubAck within {@code sendTimeout}. */
    static TimeoutException noPubAck(Duration sendTimeout) {
        return new TimeoutException("no PubAck within " + sendTimeout.toMillis() + " ms");
    }

    /** Fails every publish still waiting: its reply can no longer come. */
    void close() {
        pending.takeAll(publish -> publish.answer(new PubAcks.Outcome(false,
                new CancellationException("the connection closed before the PubAck came"))));
    }

    /** A closed connection delivers no more replies; with jnats' reconnects off, a lost one is closed. */
    private final class ClosedListener implements ConnectionListener {
        @Override
        @SuppressWarnings("deprecation")
        public void connectionEvent(Connection conn, Events type) {
            if (type == Events.CLOSED) {
                close();
            }
        }
    }
}
