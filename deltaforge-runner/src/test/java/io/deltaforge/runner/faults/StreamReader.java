package io.deltaforge.runner.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nats.client.Connection;
import io.nats.client.IterableConsumer;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamStatusCheckedException;
import io.nats.client.Message;
import io.nats.client.OrderedConsumerContext;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.OrderedConsumerConfiguration;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Reads a JetStream stream of CloudEvents incrementally (a stream only grows here), keeping what it read
 * in stream order, each message turned into the {@link Change} it carries.
 */
final class StreamReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One stored message: its stream sequence, the change, the CloudEvents id, the Nats-Msg-Id header, when
     * the stream stored it, and the CloudEvents extension {@code runner} ("" when absent), which tells
     * runners of one slot apart.
     */
    record Stored(long seq, Change change, String eventId, String msgId, Instant storedAt, String runner) {
    }

    private final Connection nc;
    private final JetStreamManagement jsm;
    private final String stream;
    private final List<Stored> read = new ArrayList<>();
    private long next;

    StreamReader(Connection nc, String stream) throws IOException {
        this(nc, stream, 1);
    }

    /** A reader of the messages from sequence {@code from} on (a purged stream's first sequence, say). */
    StreamReader(Connection nc, String stream, long from) throws IOException {
        this.nc = nc;
        this.jsm = nc.jetStreamManagement();
        this.stream = stream;
        this.next = from;
    }

    /** How many messages the stream holds; cheap, unlike reading them. */
    long count() throws IOException, JetStreamApiException {
        return jsm.getStreamInfo(stream).getStreamState().getMsgCount();
    }

    /**
     * Everything stored so far, in stream order. The new messages come through an ordered consumer starting
     * at the first unread sequence: one request per message (getMessage) makes reading a large stream slow.
     */
    List<Stored> readAll() throws IOException, JetStreamApiException {
        long last = jsm.getStreamInfo(stream).getStreamState().getLastSequence();
        if (next > last) {
            return List.copyOf(read);
        }
        OrderedConsumerContext consumer = nc.getStreamContext(stream).createOrderedConsumer(
                new OrderedConsumerConfiguration().deliverPolicy(DeliverPolicy.ByStartSequence).startSequence(next));
        try (IterableConsumer messages = consumer.iterate()) {
            while (next <= last) {
                Message m = messages.nextMessage(Duration.ofSeconds(10));
                if (m == null) {
                    throw new IOException("stream " + stream + ": no message " + next + " within 10 s (last: " + last
                            + ")");
                }
                long seq = m.metaData().streamSequence();
                if (seq != next) {
                    throw new IOException("stream " + stream + ": expected message " + next + ", got " + seq);
                }
                JsonNode ce = JSON.readTree(m.getData());
                String msgId = m.getHeaders() == null ? "" : String.valueOf(m.getHeaders().getFirst("Nats-Msg-Id"));
                read.add(new Stored(next, toChange(ce), ce.get("id").asText(), msgId,
                        m.metaData().timestamp().toInstant(), ce.path("runner").asText("")));
                next++;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading stream " + stream, e);
        } catch (JetStreamStatusCheckedException e) {
            throw new IOException("reading stream " + stream + " failed: " + e.getMessage(), e);
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            throw e;
        } catch (Exception e) { // IterableConsumer.close()
            throw new IOException("closing the reader of stream " + stream + " failed: " + e.getMessage(), e);
        }
        return List.copyOf(read);
    }

    /** Reads until {@code done} holds for what is stored, or the timeout passes; returns what was read last. */
    List<Stored> awaitUntil(Predicate<List<Stored>> done, Duration timeout) throws Exception {
        AtomicReference<List<Stored>> last = new AtomicReference<>(List.of());
        try {
            // A read that fails (a NATS cluster electing a leader) is tried again.
            Awaitility.await().atMost(timeout).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(100))
                    .ignoreExceptions().until(() -> {
                        last.set(readAll());
                        return done.test(last.get());
                    });
        } catch (ConditionTimeoutException e) {
            // The caller's check on what was read names what is missing, which says more than a timeout.
        }
        return last.get();
    }

    static Change toChange(JsonNode ce) {
        JsonNode data = ce.get("data");
        String op = data.get("op").asText();
        JsonNode row = "d".equals(op) ? data.get("before") : data.get("after");
        String table = ce.get("subject").asText();
        return new Change(table, row.get("id").asInt(), row.get("v").asInt(), op);
    }
}
