package io.deltaforge.nats;

import io.deltaforge.testkit.NatsServer;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StreamConfiguration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Stream set-up between tests that survives a race in nats-server 2.12+: deleting an account's last file
 * stream removes the account's store directory in the background, and a file stream created meanwhile
 * fails with "error creating store for stream" (10049; the server logs "mkdir .../$G/streams: no such file
 * or directory"). Seen on 2.15.1 about every other run of a test class; 2.9 does not do it.
 */
final class Streams {
    private static final int STORE_CREATE_FAILED = 10049;

    private Streams() {
    }

    /** Deletes every stream, then gives the server a moment to finish removing the account's directory. */
    static void deleteAll(NatsServer nats, JetStreamManagement jsm) throws Exception {
        for (String name : jsm.getStreamNames()) {
            jsm.deleteStream(name);
        }
        Path account = nats.storeDir().resolve("jetstream").resolve("$G");
        try {
            Awaitility.await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20))
                    .until(() -> !Files.exists(account));
        } catch (ConditionTimeoutException e) {
            // Servers that keep the directory (2.9) have no race to wait out.
        }
    }

    /** Adds a stream, trying again while the server reports the race above. */
    static void add(JetStreamManagement jsm, StreamConfiguration config) {
        Awaitility.await("stream " + config.getName() + " created").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50)).until(() -> {
                    try {
                        jsm.addStream(config);
                        return true;
                    } catch (JetStreamApiException e) {
                        if (e.getApiErrorCode() != STORE_CREATE_FAILED) {
                            throw e;
                        }
                        return false;
                    }
                });
    }
}
