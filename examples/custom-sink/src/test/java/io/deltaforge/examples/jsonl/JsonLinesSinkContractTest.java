package io.deltaforge.examples.jsonl;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.deltaforge.spi.Sink;
import io.deltaforge.testkit.SinkContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example sink checked against the contract every sink owes the engine. It appends and never
 * de-duplicates, so replays show up as repeated lines, which the contract allows for at-least-once sinks.
 */
class JsonLinesSinkContractTest extends SinkContract {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Override
    protected Sink newSink() {
        return new JsonLinesSink("contract-jsonl", dir.resolve("out.jsonl"));
    }

    @Override
    protected List<String> storedIds() throws Exception {
        Path file = dir.resolve("out.jsonl");
        List<String> ids = new ArrayList<>();
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file)) {
                ids.add(JSON.readTree(line).get("id").asText());
            }
        }
        return ids;
    }

    @Override
    protected boolean deduplicatesById() {
        return false;
    }
}
