package io.deltaforge.examples.benchmark;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What else happened on the box while W2 was measured, so that a stall between commit and storage can be
 * matched with a cause: the kernel's dirty and written-back page cache (sampled), and the lines PostgreSQL and
 * nats-server logged in the window (checkpoints, autovacuum, warnings). W2 rounds after heavy W1 drains had
 * single 200–250 ms stalls whose cause the latency samples alone could not show.
 */
final class StallWitness {

    private static final Pattern PG_TIME = Pattern.compile("^(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}) \\S+ ");
    private static final DateTimeFormatter PG_FORMAT = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");
    private static final Pattern NATS_TIME =
            Pattern.compile("^\\[\\d+\\] (\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{6}) ");
    private static final DateTimeFormatter NATS_FORMAT = DateTimeFormatter.ofPattern("yyyy/MM/dd HH:mm:ss.SSSSSS");
    private static final int MAX_LINES = 16;
    private static final int MAX_LINE_CHARS = 240;

    private final Thread sampler;
    private volatile boolean stopped;
    private long maxDirtyKb;
    private long maxWritebackKb;
    private long maxWritebackAtMicros;

    private StallWitness() {
        sampler = new Thread(this::sample, "w2-page-cache-sampler");
        sampler.setDaemon(true);
    }

    static StallWitness start() {
        StallWitness w = new StallWitness();
        w.sampler.start();
        return w;
    }

    private void sample() {
        Path meminfo = Path.of("/proc/meminfo");
        while (!stopped) {
            try {
                long dirty = 0;
                long writeback = 0;
                for (String line : Files.readAllLines(meminfo)) {
                    if (line.startsWith("Dirty:")) {
                        dirty = kb(line);
                    } else if (line.startsWith("Writeback:")) {
                        writeback = kb(line);
                    }
                }
                synchronized (this) {
                    maxDirtyKb = Math.max(maxDirtyKb, dirty);
                    if (writeback > maxWritebackKb) {
                        maxWritebackKb = writeback;
                        maxWritebackAtMicros = LatencyConsumer.micros(Instant.now());
                    }
                }
                Thread.sleep(20);
            } catch (IOException e) {
                return; // not Linux: nothing to witness
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static long kb(String meminfoLine) {
        return Long.parseLong(meminfoLine.replaceAll("[^0-9]", ""));
    }

    void close() throws InterruptedException {
        stopped = true;
        sampler.join();
    }

    /** The page cache's maxima; {@code writeback_max_at_s} is seconds from {@code fromMicros}. */
    synchronized Map<String, Object> pageCache(long fromMicros) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dirty_max_kb", maxDirtyKb);
        m.put("writeback_max_kb", maxWritebackKb);
        if (maxWritebackKb > 0) {
            m.put("writeback_max_at_s", Benchmark.round((maxWritebackAtMicros - fromMicros) / 1e6));
        }
        return m;
    }

    /** PostgreSQL's log lines (written with {@code %m}; the testkit's servers log in UTC) between the two epoch-µs times. */
    static List<String> postgresLog(Path file, long fromMicros, long toMicros) {
        return linesBetween(file, PG_TIME, PG_FORMAT, fromMicros, toMicros);
    }

    /** nats-server's log lines (its default timestamps, local time: UTC on these machines) in the window. */
    static List<String> natsLog(Path file, long fromMicros, long toMicros) {
        return linesBetween(file, NATS_TIME, NATS_FORMAT, fromMicros, toMicros);
    }

    private static List<String> linesBetween(Path file, Pattern time, DateTimeFormatter format, long fromMicros,
                                             long toMicros) {
        List<String> in = new ArrayList<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return List.of("(cannot read " + file + ": " + e.getMessage() + ")");
        }
        for (String line : lines) {
            Matcher t = time.matcher(line);
            if (!t.find()) {
                continue;
            }
            LocalDateTime at = LocalDateTime.parse(t.group(1), format);
            long micros = at.toEpochSecond(ZoneOffset.UTC) * 1_000_000 + at.getNano() / 1000;
            if (micros >= fromMicros && micros < toMicros) {
                String offset = String.format(Locale.ROOT, "+%.3fs ", (micros - fromMicros) / 1e6);
                String text = line.substring(t.end());
                in.add(offset + (text.length() > MAX_LINE_CHARS ? text.substring(0, MAX_LINE_CHARS) + "…" : text));
            }
        }
        if (in.size() > MAX_LINES) {
            int more = in.size() - MAX_LINES;
            in = new ArrayList<>(in.subList(0, MAX_LINES));
            in.add("(" + more + " more)");
        }
        return in;
    }
}
