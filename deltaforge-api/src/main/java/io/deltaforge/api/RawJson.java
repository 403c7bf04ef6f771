package io.deltaforge.api;

import java.util.Objects;

/**
 * A column value that is already JSON text ({@code json}, {@code jsonb}); envelopes embed it as JSON
 * rather than as a string.
 */
public record RawJson(String json) {
    public RawJson {
        Objects.requireNonNull(json, "json");
    }

    @Override
    public String toString() {
        return json;
    }
}
