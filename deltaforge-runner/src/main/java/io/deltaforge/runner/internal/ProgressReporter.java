package io.deltaforge.runner.internal;

import io.deltaforge.api.Pipeline;
import io.deltaforge.api.PipelineStatus;
import io.deltaforge.yaml.internal.Causes;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs one INFO line per pipeline every interval: state, events received and delivered with their rates
 * since the previous line, and the checkpoint. Reads only {@link Pipeline#status()}, so it can never slow a
 * pipeline down. One daemon thread; {@link #close()} stops it.
 */
public final class ProgressReporter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProgressReporter.class);

    private final List<Pipeline> pipelines;
    private final LongSupplier nanoTime;
    private final Map<String, Sample> last = new HashMap<>();
    private final ScheduledExecutorService timer;

    private record Sample(long nanos, long received, long delivered) {
    }

    ProgressReporter(List<Pipeline> pipelines, LongSupplier nanoTime) {
        this.pipelines = List.copyOf(pipelines);
        this.nanoTime = nanoTime;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "deltaforge-progress");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts logging every {@code interval} (the first line after one interval). */
    public static ProgressReporter start(List<Pipeline> pipelines, Duration interval) {
        ProgressReporter r = new ProgressReporter(pipelines, System::nanoTime);
        r.lines(); // the baseline for the first rates
        r.timer.scheduleAtFixedRate(r::logLines, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        return r;
    }

    private void logLines() {
        try {
            lines().forEach(log::info);
        } catch (RuntimeException e) {
            log.warn("progress: {}", Causes.oneLine(e)); // never let one bad sample end the schedule
        }
    }

    /** The progress lines for now; each call moves the baseline of the rates. */
    synchronized List<String> lines() {
        long now = nanoTime.getAsLong();
        return pipelines.stream().map(p -> {
            PipelineStatus s = p.status();
            Sample prev = last.put(p.name(), new Sample(now, s.eventsReceived(), s.eventsDelivered()));
            double secs = prev == null ? 0 : (now - prev.nanos()) / 1e9;
            return String.format(Locale.ROOT, "pipeline '%s' %s: %d events received (%.1f/s), %d delivered "
                            + "(%.1f/s), checkpoint %s", s.name(), s.state(), s.eventsReceived(),
                    rate(s.eventsReceived(), prev == null ? s.eventsReceived() : prev.received(), secs),
                    s.eventsDelivered(), rate(s.eventsDelivered(), prev == null ? s.eventsDelivered()
                            : prev.delivered(), secs),
                    s.checkpoint() == null ? "none yet" : s.checkpoint().toString());
        }).toList();
    }

    private static double rate(long now, long before, double secs) {
        return secs <= 0 ? 0 : Math.max(0, now - before) / secs;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
