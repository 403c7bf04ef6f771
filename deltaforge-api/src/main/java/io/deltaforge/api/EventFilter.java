package io.deltaforge.api;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Drops or trims events before they are encoded: per pipeline ({@link Pipeline.Builder#filter}) or per
 * sink ({@link SinkBinding#withFilter}). Dropped events still move the checkpoint, and columns trimmed
 * here never leave the process.
 *
 * <pre>{@code
 * EventFilter noPasswords = e -> e.withRows(drop(e.before(), "password_hash"), drop(e.after(), "password_hash"));
 * EventFilter onlyUsers = e -> e.table().table().equals("users") ? e : null;
 * }</pre>
 *
 * <p>Implementations must be thread-safe, fast and pure: the same event gives the same result.
 */
@FunctionalInterface
public interface EventFilter {
    /** Keeps everything. */
    EventFilter ALL = e -> e;

    /** @return the event to send (the same or a trimmed copy), or null to drop it */
    @Nullable ChangeEvent apply(ChangeEvent event);

    /** This filter, then {@code next} on what it kept. */
    default EventFilter andThen(EventFilter next) {
        Objects.requireNonNull(next, "next");
        return e -> {
            ChangeEvent kept = apply(e);
            return kept == null ? null : next.apply(kept);
        };
    }
}
