package io.deltaforge.nats.internal;

import io.nats.client.Connection;
import io.nats.client.api.StreamConfiguration;
import org.jspecify.annotations.Nullable;

/**
 * The size limits for one message (server max_payload, stream max_msg_size), for the check before each publish
 * and for error messages. Recorded on the sending thread, read on any thread.
 */
final class SizeLimits {
    /** The smallest size limit for one message (server max_payload, stream max_msg_size); 0: unknown. */
    private volatile long perMessage;
    /** The size limits seen at start, for error messages. */
    private volatile String text = "limits unknown";
    private volatile long streamMaxMsg = -1;

    /** Records the size limits, for the pre-publish size check and for messages. */
    void record(@Nullable Connection nc, @Nullable StreamConfiguration config) {
        long maxPayload = nc == null ? 0 : nc.getServerInfo().getMaxPayload();
        long maxMsg = config == null ? -1 : config.getMaximumMessageSize();
        if (config != null) {
            text = "stream max_msg_size " + (maxMsg < 0 ? "unlimited" : maxMsg + " bytes")
                    + (nc == null ? "" : ", server max_payload " + maxPayload + " bytes");
            streamMaxMsg = maxMsg;
        }
        long limit = maxPayload > 0 ? maxPayload : Long.MAX_VALUE;
        if (streamMaxMsg > 0) {
            limit = Math.min(limit, streamMaxMsg);
        }
        perMessage = limit == Long.MAX_VALUE ? 0 : limit;
    }

    long perMessage() {
        return perMessage;
    }

    String text() {
        return text;
    }
}
