package io.deltaforge.consumer.internal;

import io.deltaforge.consumer.ChangeHandler;
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
 * The consumer's thread: fetch at most a batch, hand each message to the handler, acknowledge, retry in place
 * (so later messages wait and the order holds), dead-letter after the last attempt.
 */
public final class PullLoop {
    private static final Logger LOG = LoggerFactory.getLogger(PullLoop.class);
    private static final Duration FETCH_WAIT = Duration.ofMillis(500);
    private static final int MAX_ERROR_HEADER = 1000;

    private final Connection connection;
    private final PullSettings settings;
    private final ChangeHandler handler;
    private final MessageDecoder decoder = new MessageDecoder();
    private final CountDownLatch stopSignal = new CountDownLatch(1);
    private final CompletableFuture<Void> termination = new CompletableFuture<>();
    private final Thread thread;
    private volatile boolean stopping;
    private volatile @Nullable JetStreamSubscription subscription;

    public PullLoop(Connection connection, PullSettings settings, ChangeHandler handler) {
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
                .maxDeliver(-1);
        if (settings.filterSubject() != null) {
            config.filterSubject(settings.filterSubject());
        }
        jsm.addOrUpdateConsumer(settings.stream(), config.build());
        LOG.info("consumer '{}': created on stream '{}'", settings.durable(), settings.stream());
    }

    private void run() {
        try {
            JetStreamSubscription bound = Objects.requireNonNull(subscription);
            while (!stopping) {
                List<Message> batch = bound.fetch(settings.batchSize(), FETCH_WAIT);
                for (int i = 0; i < batch.size(); i++) {
                    if (stopping || !handle(batch.get(i))) {
                        // Back to the server at once, so the next start need not wait for the ack timeout.
                        batch.subList(i, batch.size()).forEach(Message::nak);
                        break;
                    }
                }
            }
            connection.flush(Duration.ofSeconds(5));
            termination.complete(null);
        } catch (Throwable e) {
            LOG.error("consumer '{}' stopped: {}", settings.durable(), e.getMessage());
            termination.completeExceptionally(e);
        }
    }

    /** Handles one message to its end; false when stopped during a backoff (the message is still unacked). */
    private boolean handle(Message message) throws InterruptedException, IOException, JetStreamApiException {
        long attempt = message.metaData().deliveredCount();
        ChangeMessage change;
        try {
            change = decoder.decode(message.getHeaders(), message.getData(), message.getSubject(),
                    message.metaData().streamSequence(), attempt);
        } catch (RuntimeException e) {
            giveUp(message, attempt, "undecodable: " + e.getMessage(), e);
            return true;
        }
        while (true) {
            try {
                handler.handle(change.withAttempt(attempt));
                message.ack();
                return true;
            } catch (Exception e) {
                if (attempt >= settings.maxDeliver()) {
                    giveUp(message, attempt, "handler failed: " + e, e);
                    return true;
                }
                Duration wait = settings.backoff(attempt);
                LOG.warn("consumer '{}': handler failed on event {} (attempt {} of {}), retrying in {}: {}",
                        settings.durable(), change.eventId(), attempt, settings.maxDeliver(), wait, e.toString());
                message.inProgress();
                if (stopSignal.await(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                    return false;
                }
                attempt++;
            }
        }
    }

    private void giveUp(Message message, long attempt, String reason, Exception cause)
            throws IOException, JetStreamApiException {
        String where = "subject " + message.getSubject() + ", stream sequence " + message.metaData().streamSequence();
        if (settings.deadLetterSubject() == null) {
            message.nak();
            throw new ConsumerException("consumer '" + settings.durable() + "': message at " + where + " failed after "
                    + attempt + " attempt(s): " + reason + "; it stays in the stream and is redelivered on the next "
                    + "start. Fix the handler, or set deadLetterSubject to move such messages aside", cause);
        }
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
        LOG.error("consumer '{}': message at {} moved to '{}' after {} attempt(s): {}", settings.durable(), where,
                settings.deadLetterSubject(), attempt, reason);
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
