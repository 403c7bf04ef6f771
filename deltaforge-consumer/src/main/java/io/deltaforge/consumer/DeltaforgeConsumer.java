package io.deltaforge.consumer;

import io.deltaforge.consumer.internal.PullLoop;
import io.deltaforge.consumer.internal.PullSettings;
import io.deltaforge.consumer.internal.UnitHandler;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * Reads the events of one JetStream stream with a durable pull consumer and hands each, decoded into a
 * {@link ChangeMessage}, to a {@link ChangeHandler}: one at a time, in stream order, on the consumer's own
 * thread. A message is acknowledged after the handler returns. When the handler throws, the same message is
 * handed again after a backoff (doubling from {@link Builder#backoff initial} up to its maximum), holding the
 * later ones back so the order holds; after {@link Builder#maxDeliver} attempts it goes to the dead-letter
 * subject (if set) and the consumer moves on, or, without one, the consumer stops with the error so nothing
 * is skipped (it is redelivered on the next start). A message that no envelope decodes is treated the same
 * way at once. The durable keeps the position: a restarted consumer resumes after the last acknowledged
 * message. At most {@link Builder#batchSize} messages are held in memory.
 *
 * <pre>{@code
 * DeltaforgeConsumer consumer = DeltaforgeConsumer.builder()
 *         .url("nats://localhost:4222")
 *         .stream("USERS")
 *         .durable("billing")
 *         .deadLetterSubject("users.dead")
 *         .handler(change -> billing.apply(change.eventId(), change.op(), change.after()))
 *         .build();
 * consumer.start();
 * ...
 * consumer.close();   // finishes the message in hand, acknowledges, stops
 * }</pre>
 *
 * <p>Thread safety: {@link #start()}, {@link #stop()} and {@link #close()} may be called from any thread.
 */
public final class DeltaforgeConsumer implements AutoCloseable {
    private final @Nullable String url;
    private final @Nullable Connection givenConnection;
    private final PullSettings settings;
    private final UnitHandler handler;
    private final Duration stopTimeout;
    private final Object lock = new Object();
    private @Nullable Connection connection;
    private @Nullable PullLoop loop;

    private DeltaforgeConsumer(Builder b, UnitHandler handler, PullSettings settings) {
        this.url = b.url;
        this.givenConnection = b.connection;
        this.handler = handler;
        this.settings = settings;
        this.stopTimeout = b.stopTimeout;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Connects (unless given a connection), creates the durable consumer when it is missing (ack explicit,
     * from the start of the stream), and starts reading.
     *
     * @throws ConsumerException when the server, the stream or the consumer is unusable, naming which
     * @throws IllegalStateException when already started
     */
    public void start() {
        synchronized (lock) {
            if (loop != null) {
                throw new IllegalStateException("consumer '" + settings.durable() + "' already started");
            }
            Connection conn = givenConnection;
            if (conn == null) {
                try {
                    conn = Nats.connect(new Options.Builder().server(url).maxReconnects(-1)
                            .connectionName("deltaforge-consumer-" + settings.durable()).build());
                } catch (IOException e) {
                    throw new ConsumerException("consumer '" + settings.durable() + "': cannot connect to NATS: "
                            + e.getMessage() + "; check url", e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new ConsumerException("consumer '" + settings.durable() + "': interrupted while connecting", e);
                }
                connection = conn;
            }
            PullLoop started = new PullLoop(conn, settings, handler);
            try {
                started.start();
            } catch (RuntimeException e) {
                closeConnection();
                throw e;
            }
            loop = started;
        }
    }

    /**
     * Completes when the consumer stopped: normally after {@link #stop()}, exceptionally when it gave up
     * (a message that failed {@code maxDeliver} times without a dead-letter subject, a lost stream).
     */
    public CompletableFuture<Void> termination() {
        synchronized (lock) {
            if (loop == null) {
                throw new IllegalStateException("consumer '" + settings.durable() + "' not started");
            }
            return loop.termination();
        }
    }

    /**
     * Stops reading: the message in hand is finished and acknowledged, the fetched ones not yet handed out are
     * returned to the server for immediate redelivery. Waits up to {@link Builder#stopTimeout}. The durable
     * consumer stays, so the next start resumes. A second call does nothing.
     */
    public void stop() {
        PullLoop running;
        synchronized (lock) {
            running = loop;
        }
        if (running != null) {
            running.stop(stopTimeout);
        }
    }

    /** {@link #stop()}, then closes the connection if the consumer opened it. */
    @Override
    public void close() {
        stop();
        synchronized (lock) {
            closeConnection();
        }
    }

    private void closeConnection() {
        if (connection != null) {
            try {
                connection.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            connection = null;
        }
    }

    /** Settings of a consumer; mutable, used once. Setters reject null. */
    public static final class Builder {
        private @Nullable String url;
        private @Nullable Connection connection;
        private @Nullable String stream;
        private @Nullable String durable;
        private @Nullable String filterSubject;
        private @Nullable ChangeHandler handler;
        private @Nullable TransactionHandler transactionHandler;
        private int maxTransactionSize = 10_000;
        private int batchSize = 100;
        private int maxDeliver = 5;
        private Duration initialBackoff = Duration.ofSeconds(1);
        private Duration maxBackoff = Duration.ofSeconds(30);
        private Duration ackWait = Duration.ofSeconds(30);
        private Duration stopTimeout = Duration.ofSeconds(30);
        private @Nullable String deadLetterSubject;

        private Builder() {
        }

        /** The NATS server, e.g. {@code nats://host:4222}; or give a {@link #connection}. */
        public Builder url(String url) {
            this.url = Objects.requireNonNull(url, "url");
            return this;
        }

        /** An open connection to use (and leave open) instead of connecting to {@link #url}. */
        public Builder connection(Connection connection) {
            this.connection = Objects.requireNonNull(connection, "connection");
            return this;
        }

        /** The JetStream stream the pipeline publishes to. Required. */
        public Builder stream(String stream) {
            this.stream = Objects.requireNonNull(stream, "stream");
            return this;
        }

        /** The durable consumer's name: it keeps the position across restarts. Required. */
        public Builder durable(String durable) {
            this.durable = Objects.requireNonNull(durable, "durable");
            return this;
        }

        /** Only the stream's subjects matching this filter (used when the consumer is created). */
        public Builder filterSubject(String filterSubject) {
            this.filterSubject = Objects.requireNonNull(filterSubject, "filterSubject");
            return this;
        }

        /** What to do with each change. Required. */
        public Builder handler(ChangeHandler handler) {
            this.handler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /**
         * Instead of {@link #handler}: whole transactions, in commit order. A transaction's changes follow each
         * other in the stream; it is complete when a change of another transaction follows, or when a fetch
         * (half a second) brings nothing new, unless the sink published it in parts and its newest message
         * says more follow ({@code DeltaForge-Tx-Last-Part: false}). A change without a transaction id comes
         * alone.
         */
        public Builder transactionHandler(TransactionHandler transactionHandler) {
            this.transactionHandler = Objects.requireNonNull(transactionHandler, "transactionHandler");
            return this;
        }

        /**
         * The most changes of one transaction held (unacknowledged) in memory, with {@link #transactionHandler};
         * a larger transaction stops the consumer, naming this setting. Default 10000.
         */
        public Builder maxTransactionSize(int maxTransactionSize) {
            this.maxTransactionSize = maxTransactionSize;
            return this;
        }

        /** Messages fetched at once, and so held in memory at most; 1 to 10000, default 100. */
        public Builder batchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /** Attempts per message before it goes to the dead-letter subject; at least 1, default 5. */
        public Builder maxDeliver(int maxDeliver) {
            this.maxDeliver = maxDeliver;
            return this;
        }

        /** Wait before the second attempt, doubling each time up to {@code max}; default 1 s and 30 s. */
        public Builder backoff(Duration initial, Duration max) {
            this.initialBackoff = Objects.requireNonNull(initial, "initial");
            this.maxBackoff = Objects.requireNonNull(max, "max");
            return this;
        }

        /**
         * How long the server waits for an acknowledgement before redelivering to another instance, when the
         * consumer is created; default 30 s. A handler running longer keeps the message by retrying.
         */
        public Builder ackWait(Duration ackWait) {
            this.ackWait = Objects.requireNonNull(ackWait, "ackWait");
            return this;
        }

        /** How long {@link DeltaforgeConsumer#stop()} waits for the message in hand; default 30 s. */
        public Builder stopTimeout(Duration stopTimeout) {
            this.stopTimeout = Objects.requireNonNull(stopTimeout, "stopTimeout");
            return this;
        }

        /**
         * Where a message goes after {@code maxDeliver} failed attempts (a stream must capture it): the original
         * body and headers, plus {@code DeltaForge-Dead-Letter: consumer}, {@code DeltaForge-Error},
         * {@code DeltaForge-Original-Subject}, {@code DeltaForge-Original-Sequence}, {@code DeltaForge-Attempts}.
         */
        public Builder deadLetterSubject(String deadLetterSubject) {
            this.deadLetterSubject = Objects.requireNonNull(deadLetterSubject, "deadLetterSubject");
            return this;
        }

        /**
         * Checks every setting and reports all problems together.
         *
         * @throws ConsumerException listing each bad setting
         */
        public DeltaforgeConsumer build() {
            List<String> problems = new ArrayList<>();
            if (url == null && connection == null) {
                problems.add("url: required (or give a connection)");
            }
            if (stream == null || stream.isBlank()) {
                problems.add("stream: required");
            }
            if (durable == null || durable.isBlank() || durable.matches(".*[.*>\\s].*")) {
                problems.add("durable: required, without '.', '*', '>' or spaces (was " + durable + ")");
            }
            if ((handler == null) == (transactionHandler == null)) {
                problems.add("handler: set exactly one of handler and transactionHandler");
            }
            if (maxTransactionSize < 1 || maxTransactionSize > 1_000_000) {
                problems.add("maxTransactionSize: " + maxTransactionSize + " is out of range; expected 1 to 1000000");
            }
            if (batchSize < 1 || batchSize > 10_000) {
                problems.add("batchSize: " + batchSize + " is out of range; expected 1 to 10000");
            }
            if (maxDeliver < 1) {
                problems.add("maxDeliver: " + maxDeliver + " is less than 1");
            }
            if (initialBackoff.isNegative() || maxBackoff.compareTo(initialBackoff) < 0) {
                problems.add("backoff: initial " + initialBackoff + " must be >= 0 and <= max " + maxBackoff);
            }
            if (ackWait.compareTo(Duration.ofSeconds(1)) < 0) {
                problems.add("ackWait: " + ackWait + " is shorter than 1 s");
            }
            if (!problems.isEmpty()) {
                throw new ConsumerException("invalid consumer settings: " + String.join("; ", problems));
            }
            ChangeHandler single = handler;
            TransactionHandler whole = transactionHandler;
            UnitHandler unit = single != null
                    ? (changes, attempt) -> single.handle(changes.get(0).withAttempt(attempt))
                    : (changes, attempt) -> Objects.requireNonNull(whole).handle(new ChangeTransaction(
                            changes.get(0).transactionId(), changes.stream().map(c -> c.withAttempt(attempt)).toList(),
                            attempt));
            return new DeltaforgeConsumer(this, unit, new PullSettings(Objects.requireNonNull(stream),
                    Objects.requireNonNull(durable), filterSubject, batchSize, maxDeliver, initialBackoff, maxBackoff,
                    ackWait, deadLetterSubject, whole != null, maxTransactionSize));
        }
    }
}
