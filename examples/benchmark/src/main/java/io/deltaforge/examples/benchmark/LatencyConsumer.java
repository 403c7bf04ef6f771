package io.deltaforge.examples.benchmark;

import io.nats.client.Connection;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.PushSubscribeOptions;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * The JetStream consumer of the runner benchmark, in a process of its own (as users consume): an ordered
 * push consumer on the stream, which notes the wall-clock time each message arrives. When its standard
 * input closes it writes, per message, the commit time the message carries, the time JetStream stored it
 * (its metadata) and the receive time, all in µs since the epoch, one line each, and exits. The receive
 * loop notes the time first and then reads the two others from the message, so the figures are the
 * pipeline's and the server's, and the same for both sides.
 *
 * <p>It keeps three numbers per message, not the message: kept messages (about 3 KB each with jnats' own
 * objects) made every young collection copy all of them, and those pauses, 50 to 130 ms every one to four
 * seconds by the end of a W2 round, showed as the tail of stored → received for every contender.
 *
 * <p>The commit time is read from the message itself: a CloudEvent's {@code time}, or a Debezium
 * envelope's {@code source.ts_us}; both are PostgreSQL's commit timestamp.
 */
final class LatencyConsumer {
    /** Commit, stored and received time of each message in turn, µs since the epoch. */
    private long[] samples = new long[3 * (1 << 16)];
    private int count;
    private volatile @Nullable RuntimeException failure;

    private LatencyConsumer() {
    }

    /** {@code --latency-consumer NATS_URL STREAM SUBJECT OUT_FILE}. */
    static void run(String url, String stream, String subject, Path out) throws Exception {
        LatencyConsumer consumer = new LatencyConsumer();
        try (Connection nc = Nats.connect(url)) {
            JetStreamSubscription sub = nc.jetStream().subscribe(subject,
                    PushSubscribeOptions.builder().stream(stream).ordered(true).build());
            nc.flush(Duration.ofSeconds(5));
            Thread reader = new Thread(() -> consumer.receive(sub), "latency-consumer");
            reader.start();
            System.out.println("READY");
            System.out.flush();
            InputStream in = System.in;
            while (in.read() >= 0) {
                // Until the benchmark closes our standard input.
            }
            reader.interrupt();
            reader.join();
        }
        RuntimeException failure = consumer.failure;
        if (failure != null) {
            throw failure;
        }
        consumer.write(out);
        System.exit(0);
    }

    private void receive(JetStreamSubscription sub) {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Message m = sub.nextMessage(Duration.ofMillis(100));
                if (m != null) {
                    long received = micros(Instant.now());
                    add(commitMicros(m.getData()), micros(m.metaData().timestamp().toInstant()), received);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            failure = e;
        }
    }

    private void add(long commit, long stored, long received) {
        if (3 * count + 3 > samples.length) {
            samples = Arrays.copyOf(samples, samples.length * 2);
        }
        int at = 3 * count++;
        samples[at] = commit;
        samples[at + 1] = stored;
        samples[at + 2] = received;
    }

    private void write(Path out) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            for (int i = 0; i < count; i++) {
                w.write(samples[3 * i] + " " + samples[3 * i + 1] + " " + samples[3 * i + 2] + "\n");
            }
        }
    }

    static long micros(Instant t) {
        return t.getEpochSecond() * 1_000_000 + t.getNano() / 1000;
    }

    /** The commit time of a structured CloudEvent ({@code time}) or of a Debezium change ({@code source.ts_us}). */
    static long commitMicros(byte[] json) {
        String s = new String(json, StandardCharsets.UTF_8);
        int time = s.indexOf("\"time\":\"");
        if (time >= 0 && s.contains("\"specversion\"")) {
            int from = time + 8;
            return micros(Instant.parse(s.substring(from, s.indexOf('"', from))));
        }
        int source = s.indexOf("\"source\":{");
        int ts = s.indexOf("\"ts_us\":", source);
        if (source < 0 || ts < 0) {
            throw new IllegalArgumentException("no commit time in " + s);
        }
        int from = ts + 8;
        int to = from;
        while (to < s.length() && Character.isDigit(s.charAt(to))) {
            to++;
        }
        return Long.parseLong(s.substring(from, to));
    }
}
