package io.deltaforge.examples.benchmark;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Watches how many messages a stream holds (ten times a second) and, for each restart it is told about,
 * when the stream first held the number of rows it is told (every row committed by the time the server
 * was back, and the next one): the end-to-end catch-up time after that restart. Polls that fail
 * (nats-server down) are skipped.
 */
final class CatchUpWatch implements AutoCloseable {
    private record Target(int restart, long rows, long backAtNanos) {
    }

    private static final long POLL_MS = 100;

    private final JetStreamManagement jsm;
    private final String stream;
    /** Guarded by itself. */
    private final List<Target> pending = new ArrayList<>();
    private final Map<Integer, Double> caughtUpSeconds = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile long count;
    private volatile boolean closed;

    CatchUpWatch(Connection nc, String stream) throws IOException {
        this.jsm = nc.jetStreamManagement();
        this.stream = stream;
        this.thread = new Thread(this::poll, "soak-catch-up-watch");
        thread.setDaemon(true);
        thread.start();
    }

    /** Restart {@code restart} ended at {@code backAtNanos}; it is caught up once the stream holds {@code rows}. */
    void expect(int restart, long rows, long backAtNanos) {
        synchronized (pending) {
            pending.add(new Target(restart, rows, backAtNanos));
        }
    }

    /** Seconds from the server being back to the stream holding the rows expected; null if not yet. */
    Double caughtUpSeconds(int restart) {
        return caughtUpSeconds.get(restart);
    }

    /** Messages in the stream at the last successful poll. */
    long count() {
        return count;
    }

    private void poll() {
        while (!closed) {
            try {
                long c = jsm.getStreamInfo(stream).getStreamState().getMsgCount();
                // After the answer, not before: a request sent while the server restarts is answered after.
                long now = System.nanoTime();
                count = c;
                synchronized (pending) {
                    pending.removeIf(t -> {
                        if (c < t.rows()) {
                            return false;
                        }
                        caughtUpSeconds.put(t.restart(), Benchmark.round((now - t.backAtNanos()) / 1e9));
                        return true;
                    });
                }
            } catch (Exception e) {
                // The server is restarting, or the stream is not created yet: the next poll tells.
            }
            try {
                TimeUnit.MILLISECONDS.sleep(POLL_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        closed = true;
        thread.interrupt();
        thread.join(5000);
    }
}
