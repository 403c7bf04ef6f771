package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Lsn;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.Message;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StreamState;
import io.nats.client.impl.Headers;
import io.nats.client.support.NatsJetStreamConstants;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which events of a source a stream holds: the NATS sink's answer to {@code Sink.storedSince}.
 *
 * <p>Every message the sink publishes carries {@value #ORIGIN_HEADER}: the source id and the commit LSN of
 * the event's transaction. The scan reads the stream backwards from its newest message ({@value #WINDOW}
 * message-get requests in flight, so that it costs throughput rather than round trips) and collects the
 * {@code Nats-Msg-Id} (the event id) of each message of the source, until it meets one of the source's
 * messages from a transaction before the replay, the stream's first message, or {@link #MAX_SCAN}
 * messages. Each id it returns is of a message the stream holds right now, so whatever the stream went
 * through (several subjects, other pipelines' messages in between, a purge, a re-creation, a hole left by a
 * failed publish) the engine never skips an event that is not stored; events it misses are only published
 * again.
 */
final class StoredEvents {
    static final String ORIGIN_HEADER = "DeltaForge-Origin";
    /**
     * Messages read at most: well beyond what a crash leaves unconfirmed (the in-flight window and the batches
     * not yet acknowledged to the source), and a few seconds of reading at start.
     */
    static final int MAX_SCAN = 100_000;
    private static final int WINDOW = 128;
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
    private static final int NO_MESSAGE_FOUND = 10037;
    private static final Logger log = LoggerFactory.getLogger(StoredEvents.class);

    private StoredEvents() {
    }

    /** The header value that ties a message to its source and transaction. */
    static String origin(ChangeEvent event) {
        return event.sourceId() + "@" + event.position().commitLsn();
    }

    /** The ids of the stored events of {@code sourceId} from transactions committed at or after {@code from}. */
    static Set<String> since(Connection nc, String stream, String sourceId, Lsn from, String name)
            throws IOException, JetStreamApiException {
        long started = System.nanoTime();
        StreamState state;
        try {
            state = nc.jetStreamManagement().getStreamInfo(stream).getStreamState();
        } catch (JetStreamApiException e) {
            if (!Failures.streamNotFound(e)) {
                throw e;
            }
            // Deleted while we were away: it holds nothing; publishing re-creates it or says why it cannot.
            log.info("{}: stream '{}' does not exist (any more); every replayed event is published", name, stream);
            return Set.of();
        }
        long first = Math.max(1, state.getFirstSequence());
        long next = state.getLastSequence();
        String api = NatsJetStreamConstants.DEFAULT_API_PREFIX
                + String.format(NatsJetStreamConstants.JSAPI_MSG_GET, stream);
        Deque<CompletableFuture<Message>> inFlight = new ArrayDeque<>();
        Set<String> ids = new HashSet<>();
        long read = 0;
        boolean reachedOlder = false;
        try {
            while (true) {
                while (inFlight.size() < WINDOW && next >= first && read + inFlight.size() < MAX_SCAN) {
                    byte[] request = ("{\"seq\":" + next-- + "}").getBytes(StandardCharsets.US_ASCII);
                    inFlight.add(nc.requestWithTimeout(api, request, REQUEST_TIMEOUT));
                }
                CompletableFuture<Message> oldest = inFlight.poll();
                if (oldest == null) {
                    break;
                }
                MessageInfo message = new MessageInfo(oldest.get(), stream, false);
                if (message.hasError()) {
                    if (message.getApiErrorCode() == NO_MESSAGE_FOUND) {
                        continue; // deleted, or aged out while we read
                    }
                    throw new JetStreamApiException(message);
                }
                read++;
                Headers headers = message.getHeaders();
                Lsn commitLsn = headers == null ? null : commitLsnOf(headers.getFirst(ORIGIN_HEADER), sourceId);
                if (commitLsn == null) {
                    continue;
                }
                if (from.isAfter(commitLsn)) {
                    reachedOlder = true;
                    break;
                }
                String id = headers.getFirst(NatsJetStreamConstants.MSG_ID_HDR);
                if (id != null) {
                    ids.add(id);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading stream '" + stream + "'", e);
        } catch (ExecutionException e) {
            throw new IOException("reading stream '" + stream + "' failed: " + e.getCause(), e.getCause());
        } finally {
            inFlight.forEach(f -> f.cancel(false));
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        String held = ids.isEmpty() ? "none" : String.valueOf(ids.size());
        if (reachedOlder) {
            log.info("{}: stream '{}' holds {} of source '{}''s events from commit LSN {} on ({} messages read back in"
                    + " {} ms); the replay publishes only the others", name, stream, held, sourceId, from, read, millis);
        } else if (read < MAX_SCAN) {
            // No earlier event of the source before the stream's start: a first run, or a purge or re-creation.
            log.info("{}: stream '{}' holds {} of source '{}''s events from commit LSN {} on, and none before: it begins"
                            + " at message {} ({} messages read back in {} ms). If it held more of them before, it was"
                            + " purged or recreated since, and the replay publishes those again", name, stream, held,
                    sourceId, from, first, read, millis);
        } else {
            log.warn("{}: stream '{}' holds {} of source '{}''s events from commit LSN {} on among its newest {}"
                    + " messages, where the search stops; replayed events older than those are published again", name,
                    stream, held, sourceId, from, read);
        }
        return ids;
    }

    private static @Nullable Lsn commitLsnOf(@Nullable String origin, String sourceId) {
        if (origin == null || origin.length() <= sourceId.length() + 1 || !origin.startsWith(sourceId)
                || origin.charAt(sourceId.length()) != '@') {
            return null;
        }
        try {
            return Lsn.parse(origin.substring(sourceId.length() + 1));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
