package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Lsn;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StreamState;
import io.nats.client.impl.Headers;
import io.nats.client.support.NatsJetStreamConstants;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which events of a source a stream holds: the NATS sink's answer to {@code Sink.storedSince}.
 *
 * <p>Every message the sink publishes carries {@value #ORIGIN_HEADER}: the source id and the commit LSN of
 * the event's transaction. The scan reads the stream backwards from its newest message and collects the
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
    private static final int NO_MESSAGE_FOUND = 10037;
    private static final Logger log = LoggerFactory.getLogger(StoredEvents.class);

    private StoredEvents() {
    }

    /** The header value that ties a message to its source and transaction. */
    static String origin(ChangeEvent event) {
        return event.sourceId() + "@" + event.position().commitLsn();
    }

    /** The ids of the stored events of {@code sourceId} from transactions committed at or after {@code from}. */
    static Set<String> since(JetStreamManagement jsm, String stream, String sourceId, Lsn from, String name)
            throws IOException, JetStreamApiException {
        StreamState state = jsm.getStreamInfo(stream).getStreamState();
        long first = Math.max(1, state.getFirstSequence());
        long last = state.getLastSequence();
        Set<String> ids = new HashSet<>();
        long read = 0;
        boolean reachedOlder = false;
        for (long seq = last; seq >= first && read < MAX_SCAN; seq--) {
            MessageInfo message;
            try {
                message = jsm.getMessage(stream, seq);
            } catch (JetStreamApiException e) {
                if (e.getApiErrorCode() == NO_MESSAGE_FOUND) {
                    continue; // deleted, or aged out while we read
                }
                throw e;
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
        if (ids.isEmpty()) {
            log.info("{}: stream '{}' holds none of source '{}''s events from commit LSN {} on ({} messages read{});"
                            + " every replayed event is published", name, stream, sourceId, from, read,
                    reachedOlder ? "" : ", back to the stream's first message: it may have been purged or recreated");
        } else if (!reachedOlder && read >= MAX_SCAN) {
            log.warn("{}: stopped looking for source '{}''s stored events in stream '{}' after {} messages; replayed"
                    + " events older than those are published again", name, sourceId, stream, read);
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
