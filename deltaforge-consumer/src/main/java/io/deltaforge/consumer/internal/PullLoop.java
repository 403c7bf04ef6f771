package io.deltaforge.consumer.internal;

import io.deltaforge.consumer.ChangeMessage;
import io.deltaforge.consumer.ConsumerException;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consumer's thread: fetch at most a batch, hand each message (or each transaction: consecutive messages
 * with the same transaction id, complete when another transaction's message follows or a fetch finds nothing
 * new, unless its newest message says more parts follow) to the handler, acknowledge, retry in place (so later messages wait and the order holds), dead-letter
 * after the last attempt.
 */
public final class PullLoop {
    private static final Logger LOG = LoggerFactory.getLogger(PullLoop.class);
    private static final Duration FETCH_WAIT = Duration.ofMillis(500);
    private static final int MAX_ERROR_HEADER = 1000;
    /** Set by the NATS sink on every message of a transaction it publishes in parts. */
    private static final String LAST_PART_HEADER = "DeltaForge-Tx-Last-Part";

    private final Connection connection;
    private final PullSettings settings;
    private final UnitHandler handler;
    private final MessageDecoder decoder = new MessageDecoder();
    private final CountDownLatch stopSignal = new CountDownLatch(1);
    private final CompletableFuture<Void> termination = new CompletableFuture<>();
    private final Thread thread;
    private volatile boolean stopping;
    private volatile @Nullable JetStreamSubscription subscription;

    public PullLoop(Connection connection, PullSettings settings, UnitHandler handler) {
        this.connection = connection;
        this.settings = settings;
        this.handler = handler;
        this.thread = new Thread(this::run, "deltaforge-consumer-" + settings.durable());
    }

    /** Creates the durable when missing, binds to it, and starts the thread. */
    public void start() {
        JetStreamSubscription bound;
        try {
            ensureDurable(connection.jetStreamManagement());
            bound = connection.jetStream().subscribe(null,
                    PullSubscribeOptions.bind(settings.stream(), settings.durable()));
        } catch (IOException | JetStreamApiException e) {
            throw new ConsumerException("consumer '" + settings.durable() + "' on stream '" + settings.stream()
                    + "': " + e.getMessage(), e);
        }
        subscription = bound;
        termination.whenComplete((ok, error) -> unsubscribe(bound));
        thread.start();
    }

    public CompletableFuture<Void> termination() {
        return termination;
    }

    /** Asks the thread to stop after the message in hand and waits for it up to {@code timeout}. */
    public void stop(Duration timeout) {
        stopping = true;
        stopSignal.countDown();
        try {
            termination.handle((ok, error) -> null).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException e) {
            LOG.warn("consumer '{}': the handler did not finish within {}; its message will be redelivered",
                    settings.durable(), timeout);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    private void ensureDurable(JetStreamManagement jsm) throws IOException, JetStreamApiException {
        try {
            jsm.getStreamInfo(settings.stream());
        } catch (JetStreamApiException e) {
            throw new ConsumerException("stream '" + settings.stream() + "' is unusable: " + e.getMessage()
                    + "; check stream (it must exist: the pipeline's NATS sink creates or checks it)", e);
        }
        try {
            jsm.getConsumerInfo(settings.stream(), settings.durable());
            return;
        } catch (JetStreamApiException e) {
            if (e.getErrorCode() != 404) {
                throw e;
            }
        }
        ConsumerConfiguration.Builder config = ConsumerConfiguration.builder().durable(settings.durable())
                .ackPolicy(AckPolicy.Explicit).deliverPolicy(DeliverPolicy.All).ackWait(settings.ackWait())
                // Attempts are counted here, not by the server: a server limit would silently stop redelivering.
                .maxDeliver(-1)
                // A transaction's messages stay unacknowledged until it is complete: the server must hand them all out.
                .maxAckPending(Math.max(1000, (settings.transactions() ? settings.maxTransactionSize() : 0)
                        + settings.batchSize()));
        if (settings.filterSubject() != null) {
            config.filterSubject(settings.filterSubject());
        }
        jsm.addOrUpdateConsumer(settings.stream(), config.build());
        LOG.info("consumer '{}': created on stream '{}'", settings.durable(), settings.stream());
    }

    private void run() {
        List<Pending> open = new ArrayList<>();
        try {
            JetStreamSubscription bound = Objects.requireNonNull(subscription);
            while (!stopping) {
                List<Message> batch = bound.fetch(settings.batchSize(), FETCH_WAIT);
                if (batch.isEmpty() && !open.isEmpty() && !morePartsFollow(open) && !deliverAndClear(open)) {
                    break;
                }
                for (int i = 0; i < batch.size(); i++) {
                    if (stopping || !accept(batch.get(i), open)) {
                        // Back to the server at once, so the next start need not wait for the ack timeout.
                        open.forEach(p -> p.message().nak());
                        open.clear();
                        batch.subList(i, batch.size()).stream().filter(m -> m.lastAck() == null).forEach(Message::nak);
                        break;
                    }
                }
            }
            open.forEach(p -> p.message().nak());
            connection.flush(Duration.ofSeconds(5));
            termination.complete(null);
        } catch (Throwable e) {
            LOG.error("consumer '{}' stopped: {}", settings.durable(), e.getMessage());
            termination.completeExceptionally(e);
        }
    }

    private record Pending(Message message, ChangeMessage change) {
    }

    /**
     * Whether the open transaction is known to go on: the sink published it as consecutive atomic batches
     * and the newest message says its part is not the last. Then a quiet fetch means the next part is still
     * on its way, not that the transaction is complete.
     */
    private static boolean morePartsFollow(List<Pending> open) {
        Headers headers = open.get(open.size() - 1).message().getHeaders();
        return headers != null && "false".equals(headers.getFirst(LAST_PART_HEADER));
    }

    /**
     * Takes one fetched message: decodes it and hands it out, or adds it to the open transaction (handing that
     * out first when this message starts another). False when stopped during a backoff.
     */
    private boolean accept(Message message, List<Pending> open) throws InterruptedException, IOException,
            JetStreamApiException {
        long attempt = message.metaData().deliveredCount();
        ChangeMessage change;
        try {
            change = decoder.decode(message.getHeaders(), message.getData(), message.getSubject(),
                    message.metaData().streamSequence(), attempt);
        } catch (RuntimeException e) {
            MessageDecoder.TransactionMarker marker = decoder.transactionMarker(message.getData());
            if (marker != null) {
                return skipMarker(message, marker, open);
            }
            if (!open.isEmpty() && !deliverAndClear(open)) {
                return false;
            }
            giveUp(List.of(message), attempt, "undecodable: " + e.getMessage(), e);
            return true;
        }
        if (!settings.transactions()) {
            open.add(new Pending(message, change));
            return deliverAndClear(open);
        }
        if (!open.isEmpty() && !Objects.equals(open.get(0).change().transactionId(), change.transactionId())
                && !deliverAndClear(open)) {
            return false;
        }
        open.add(new Pending(message, change));
        if (change.transactionId() == null) {
            return deliverAndClear(open);
        }
        if (open.size() > settings.maxTransactionSize()) {
            throw new ConsumerException("consumer '" + settings.durable() + "': transaction " + change.transactionId()
                    + " has more than maxTransactionSize (" + settings.maxTransactionSize() + ") changes; raise "
                    + "maxTransactionSize (the messages stay in the stream and come again on the next start)");
        }
        return true;
    }

    /**
     * A transaction BEGIN or END is no change for the handler: acknowledged and passed over. An END of the open
     * transaction completes it at once (no wait for the next transaction or a quiet fetch).
     */
    private boolean skipMarker(Message message, MessageDecoder.TransactionMarker marker, List<Pending> open)
            throws InterruptedException, IOException, JetStreamApiException {
        if (marker.end() && !open.isEmpty()
                && marker.transactionId().equals(open.get(0).change().transactionId()) && !deliverAndClear(open)) {
            return false;
        }
        message.ack();
        return true;
    }

    private boolean deliverAndClear(List<Pending> open) throws InterruptedException, IOException,
            JetStreamApiException {
        boolean done = deliver(List.copyOf(open));
        if (done) {
            open.clear();
        }
        return done;
    }

    /** Hands the unit out until it succeeds or goes to the dead letters; false when stopped during a backoff. */
    private boolean deliver(List<Pending> unit) throws InterruptedException, IOException, JetStreamApiException {
        long attempt = 0;
        for (Pending p : unit) {
            attempt = Math.max(attempt, p.message().metaData().deliveredCount());
        }
        List<ChangeMessage> changes = unit.stream().map(Pending::change).toList();
        List<Message> messages = unit.stream().map(Pending::message).toList();
        String what = unit.size() == 1 ? "event " + changes.get(0).eventId()
                : "transaction " + changes.get(0).transactionId() + " (" + unit.size() + " changes)";
        while (true) {
            try {
                handler.handle(changes, attempt);
                messages.forEach(Message::ack);
                return true;
            } catch (Exception e) {
                if (attempt >= settings.maxDeliver()) {
                    giveUp(messages, attempt, "handler failed: " + e, e);
                    return true;
                }
                Duration wait = settings.backoff(attempt);
                LOG.warn("consumer '{}': handler failed on {} (attempt {} of {}), retrying in {}: {}",
                        settings.durable(), what, attempt, settings.maxDeliver(), wait, e.toString());
                messages.forEach(Message::inProgress);
                if (stopSignal.await(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                    return false;
                }
                attempt++;
            }
        }
    }

    private void giveUp(List<Message> messages, long attempt, String reason, Exception cause)
            throws IOException, JetStreamApiException {
        Message first = messages.get(0);
        String where = "subject " + first.getSubject() + ", stream sequence " + first.metaData().streamSequence()
                + (messages.size() > 1 ? " and the " + (messages.size() - 1) + " following of its transaction" : "");
        if (settings.deadLetterSubject() == null) {
            messages.forEach(Message::nak);
            throw new ConsumerException("consumer '" + settings.durable() + "': message at " + where + " failed after "
                    + attempt + " attempt(s): " + reason + "; it stays in the stream and is redelivered on the next "
                    + "start. Fix the handler, or set deadLetterSubject to move such messages aside", cause);
        }
        for (Message message : messages) {
            deadLetter(message, attempt, reason);
        }
        LOG.error("consumer '{}': message at {} moved to '{}' after {} attempt(s): {}", settings.durable(), where,
                settings.deadLetterSubject(), attempt, reason);
    }

    private void deadLetter(Message message, long attempt, String reason) throws IOException, JetStreamApiException {
        Headers headers = new Headers();
        Headers original = message.getHeaders();
        if (original != null) {
            for (String name : original.keySet()) {
                if (!name.regionMatches(true, 0, "Nats-", 0, 5)) {
                    headers.put(name, original.get(name));
                }
            }
        }
        headers.put("DeltaForge-Dead-Letter", "consumer");
        headers.put("DeltaForge-Error", oneLine(reason));
        headers.put("DeltaForge-Original-Subject", message.getSubject());
        headers.put("DeltaForge-Original-Sequence", String.valueOf(message.metaData().streamSequence()));
        headers.put("DeltaForge-Attempts", String.valueOf(attempt));
        // Stable across retries of this publish, distinct from the event id the stream may still remember.
        headers.put("Nats-Msg-Id", settings.stream() + ":" + message.metaData().streamSequence() + ":dead-letter");
        connection.jetStream().publish(NatsMessage.builder().subject(settings.deadLetterSubject()).headers(headers)
                .data(message.getData()).build());
        message.term();
    }

    private static String oneLine(String text) {
        String flat = text.replaceAll("[\\r\\n]+", " ");
        return flat.length() > MAX_ERROR_HEADER ? flat.substring(0, MAX_ERROR_HEADER) : flat;
    }

    private void unsubscribe(JetStreamSubscription subscription) {
        try {
            if (connection.getStatus() == Connection.Status.CONNECTED) {
                subscription.unsubscribe();
            }
        } catch (IllegalStateException e) {
            LOG.debug("consumer '{}': unsubscribe: {}", settings.durable(), e.getMessage());
        }
    }
}
