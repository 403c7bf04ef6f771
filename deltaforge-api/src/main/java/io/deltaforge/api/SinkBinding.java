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
 * @param required a required sink's batches are retried until delivered and hold the checkpoint back;
 *                 an optional sink's permanent failures are logged and counted, then skipped
 */
public record SinkBinding(Sink sink, @Nullable Envelope envelope, boolean required) {
    public SinkBinding {
        Objects.requireNonNull(sink, "sink");
    }

    /** A required sink using the pipeline's envelope. */
    public static SinkBinding of(Sink sink) {
        return new SinkBinding(sink, null, true);
    }

    public SinkBinding withEnvelope(@Nullable Envelope e) {
        return new SinkBinding(sink, e, required);
    }

    public SinkBinding withRequired(boolean r) {
        return new SinkBinding(sink, envelope, r);
    }
}
