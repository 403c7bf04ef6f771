package io.deltaforge.api;

import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Sink;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A sink as one pipeline uses it: with its own envelope (null: the pipeline's default) and whether the
 * checkpoint must wait for it.
 *
 * <pre>{@code SinkBinding.of(auditSink).withEnvelope(debezium).withRequired(false) }</pre>
 *
 * @param filter   what of the pipeline's events this sink gets ({@link EventFilter#ALL} for everything)
 * @param required a required sink's batches are retried until delivered and hold the checkpoint back;
 *                 an optional sink's permanent failures are logged and counted, then skipped
 */
public record SinkBinding(Sink sink, @Nullable Envelope envelope, boolean required, EventFilter filter) {
    public SinkBinding {
        Objects.requireNonNull(sink, "sink");
        Objects.requireNonNull(filter, "filter");
    }

    /** A required sink using the pipeline's envelope and no filter of its own. */
    public static SinkBinding of(Sink sink) {
        return new SinkBinding(sink, null, true, EventFilter.ALL);
    }

    public SinkBinding withEnvelope(@Nullable Envelope e) {
        return new SinkBinding(sink, e, required, filter);
    }

    public SinkBinding withRequired(boolean r) {
        return new SinkBinding(sink, envelope, r, filter);
    }

    /** Events this sink gets, after the pipeline's filter; what it drops still moves the checkpoint. */
    public SinkBinding withFilter(EventFilter f) {
        return new SinkBinding(sink, envelope, required, f);
    }
}
