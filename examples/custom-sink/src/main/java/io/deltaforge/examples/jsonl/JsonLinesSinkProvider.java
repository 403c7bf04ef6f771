package io.deltaforge.examples.jsonl;

import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.Sink;
import io.deltaforge.spi.SinkProvider;
import java.nio.file.Path;

/**
 * Makes {@code type: jsonl} usable in YAML: {@code config: {id: audit, path: /var/log/events.jsonl}}.
 * Registered in {@code META-INF/services/io.deltaforge.spi.SinkProvider}.
 */
public final class JsonLinesSinkProvider implements SinkProvider {
    @Override
    public String type() {
        return "jsonl";
    }

    @Override
    public Sink create(ProviderConfig config) {
        String id = config.string("id", "jsonl");
        String path = config.requiredString("path");
        config.throwIfInvalid();
        return new JsonLinesSink(id, Path.of(path));
    }
}
