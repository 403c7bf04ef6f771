package io.deltaforge.examples.dbz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import io.deltaforge.api.Pipeline;
import io.deltaforge.postgres.PostgresSource;
import io.deltaforge.postgres.SnapshotMode;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Sink;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import io.deltaforge.testkit.PostgresServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.ServiceLoader;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The {@code debezium} envelope against real Debezium: the embedded engine (PostgreSQL connector, pgoutput,
 * JSON converter) and a {@link PostgresSource} each read the same WAL through their own slot, and every
 * message is compared field by field. Only the fields documented as different in docs/envelopes.md may
 * differ.
 */
@Timeout(value = 20, unit = TimeUnit.MINUTES)
class DebeziumDifferentialIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SOURCE_ID = "compat";
    /**
     * Fields that differ on purpose, each a row of the table in docs/envelopes.md: the top-level times
     * (ours are the commit time), the version, and values Debezium loses (a {@code name} column, a
     * two-dimensional array, infinite dates and timestamps) where DeltaForge keeps them.
     */
    private static final List<String> DOCUMENTED_DIFFERENCES = List.of("ts_ms", "ts_us", "ts_ns", "source.version",
            "before.nm", "after.nm", "before.a_2d", "after.a_2d", "after.d_inf", "after.ts_inf");
    /** A non-transactional message has no commit time: Debezium repeats the last one, DeltaForge reads the clock. */
    private static final List<String> LOOSE_MESSAGE_DIFFERENCES = List.of("source.ts_ms", "source.ts_us",
            "source.ts_ns");

    /**
     * Each snapshot is its own: Debezium's and DeltaForge's are taken at their own slot's consistent point, in
     * their own transaction, at their own time, so these name different (each correct) positions and times.
     * {@code source.snapshot} marks the edges of Debezium's snapshot ({@code first}, {@code last}, ...);
     * DeltaForge's rows are all {@code true}.
     */
    private static final List<String> SNAPSHOT_DIFFERENCES = List.of("source.lsn", "source.sequence", "source.txId",
            "source.ts_ms", "source.ts_us", "source.ts_ns", "source.snapshot");

    private static PostgresServer pg;

    @BeforeAll
    static void startPostgres() {
        pg = PostgresServer.start();
        pg.execute(Workload.SCHEMA);
    }

    @AfterAll
    static void stopPostgres() {
        if (pg != null) {
            pg.close();
        }
    }

    /**
     * A run per value of each knob (besides its default): Debezium's property and our envelope's key. The
     * system property {@code differential.runs} (comma-separated run names) picks some, for a quick check.
     */
    static Stream<Arguments> knobs() {
        List<String> only = List.of(System.getProperty("differential.runs", "").split(","));
        return Stream.of(
                Arguments.of("defaults", Map.of(), Map.of()),
                knob("decimal.handling.mode", "string"),
                knob("decimal.handling.mode", "double"),
                knob("time.precision.mode", "adaptive_time_microseconds"),
                knob("time.precision.mode", "connect"),
                knob("time.precision.mode", "isostring"),
                knob("time.precision.mode", "microseconds"),
                knob("time.precision.mode", "nanoseconds"),
                knob("binary.handling.mode", "base64"),
                knob("binary.handling.mode", "base64-url-safe"),
                knob("binary.handling.mode", "hex"),
                knob("interval.handling.mode", "string"),
                knob("hstore.handling.mode", "map"),
                knob("provide.transaction.metadata", "true"))
                .filter(run -> only.equals(List.of("")) || only.contains((String) run.get()[0]));
    }

    /** Debezium's {@code a.b.c} is our {@code a_b_c}, with the same values. */
    private static Arguments knob(String property, String value) {
        String run = property.substring(0, property.indexOf('.')) + "_" + value.replace('-', '_');
        return Arguments.of(run, Map.of(property, value), Map.of(property.replace('.', '_'), value));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("knobs")
    void givesDebeziumsMessages(String run, Map<String, String> debeziumProperties, Map<String, Object> envelopeKeys)
            throws Exception {
        compare(run, debeziumProperties, envelope(envelopeKeys));
    }

    /**
     * The same with {@code schemas.enable=true} on Debezium's JSON converter and {@code schemas_enable: true} on
     * ours: the Connect schema next to each payload, compared like the payload.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("knobs")
    void givesDebeziumsSchemas(String run, Map<String, String> debeziumProperties, Map<String, Object> envelopeKeys)
            throws Exception {
        Map<String, String> props = new HashMap<>(debeziumProperties);
        props.put("converter.schemas.enable", "true");
        Map<String, Object> keys = new HashMap<>(envelopeKeys);
        keys.put("schemas_enable", true);
        compare("schemas_" + run, props, envelope(keys));
    }

    /** Our envelope made as YAML makes it: through its provider, from snake_case keys. */
    private static Envelope envelope(Map<String, Object> keys) {
        Map<String, Object> config = new HashMap<>(keys);
        EnvelopeProvider provider = ServiceLoader.load(EnvelopeProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(p -> p.type().equals("debezium")).findFirst().orElseThrow();
        return provider.create(ProviderConfig.of("envelope", config, new ProviderConfig.PipelineInfo("compat", null)));
    }

    /**
     * Both read the rows that exist when they start: Debezium's initial snapshot against DeltaForge's
     * ({@link SnapshotMode#INITIAL}), op {@code r}.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("snapshotKnobs")
    void givesDebeziumsSnapshotReads(String run, Map<String, String> debeziumProperties,
                                     Map<String, Object> envelopeKeys) throws Exception {
        Map<String, String> props = new HashMap<>(debeziumProperties);
        props.put("snapshot.mode", "initial");
        compare("snapshot_" + run, props, envelope(envelopeKeys), true);
    }

    /** The snapshot under the defaults and under the knobs that change the most values. */
    static Stream<Arguments> snapshotKnobs() {
        return knobs().filter(a -> List.of("defaults", "decimal_string", "time_connect", "binary_hex")
                .contains((String) a.get()[0]));
    }

    /**
     * Runs the workload once with Debezium configured by {@code debeziumProperties} and our envelope by
     * {@code envelope}, and asserts that the messages agree except for the documented fields. With
     * {@code snapshot} the rows are written before both start and read by their snapshots.
     */
    private static void compare(String run, Map<String, String> debeziumProperties, Envelope ours) throws Exception {
        compare(run, debeziumProperties, ours, false);
    }

    private static void compare(String run, Map<String, String> debeziumProperties, Envelope ours, boolean snapshot)
            throws Exception {
        String slot = "dbz_" + run;
        ConcurrentLinkedQueue<String> debezium = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> debeziumTransactions = new ConcurrentLinkedQueue<>();
        Properties props = debeziumConfig(slot, debeziumProperties);
        if (snapshot) {
            pg.execute(Workload.RESET);
            for (String tx : Workload.SNAPSHOT_ROWS) {
                pg.execute(tx);
            }
        }
        int count = snapshot ? Workload.SNAPSHOT_EVENTS : Workload.EVENTS;
        CapturingSink captured = new CapturingSink();
        ExecutorService executor = Executors.newSingleThreadExecutor();
        PostgresSource.Builder ourSource = PostgresSource.builder().id(SOURCE_ID).dsn(pg.dsn()).slot("df_" + run)
                .publication(Workload.PUBLICATION).messages(true);
        if (snapshot) {
            ourSource.snapshot(SnapshotMode.INITIAL, 1000);
        }
        try (DebeziumEngine<io.debezium.engine.ChangeEvent<String, String>> engine = DebeziumEngine.create(Json.class)
                .using(props)
                .notifying(record -> {
                    // In a snapshot run Debezium also streams DeltaForge's snapshot watermarks (logical
                    // messages): only its snapshot's reads are compared. Its transaction BEGIN/END events
                    // (provide.transaction.metadata) go to a topic of their own: compared on their own.
                    if (record.value() != null && record.destination().equals(SOURCE_ID + ".transaction")) {
                        debeziumTransactions.add(record.value());
                    } else if (record.value() != null && (!snapshot || record.value().contains("\"op\":\"r\""))) {
                        debezium.add(record.value());
                    }
                })
                .build();
             Pipeline pipeline = Pipeline.builder().name("compat-" + run).source(ourSource.build()).envelope(ours)
                     .sink(captured).build()) {
            executor.execute(engine);
            await("Debezium's slot is active").atMost(Duration.ofMinutes(2)).until(() -> "t".equals(
                    pg.queryString("SELECT active FROM pg_replication_slots WHERE slot_name = '" + slot + "'")));
            pipeline.start();

            if (!snapshot) {
                pg.execute(Workload.RESET);
                for (String tx : Workload.TRANSACTIONS) {
                    pg.execute(tx);
                }
            }
            // Through the engine, as a sink gets them: the events' messages and the transaction markers.
            await("DeltaForge's events").atMost(Duration.ofMinutes(1)).until(() -> captured.events.size() >= count);
            await("Debezium's events").atMost(Duration.ofMinutes(1)).until(() -> debezium.size() >= count);
            List<String> deltaforge = new ArrayList<>(captured.events);
            if (debeziumProperties.containsKey("provide.transaction.metadata")) {
                compareTransactionEvents(run, debeziumTransactions, captured.markers);
            } else {
                assertThat(captured.markers).as("markers without provide_transaction_metadata").isEmpty();
            }

            List<String> theirs = new ArrayList<>(debezium);
            assertThat(deltaforge).as("event count").hasSameSizeAs(theirs);
            List<String> differences = new ArrayList<>();
            for (int i = 0; i < theirs.size(); i++) {
                JsonNode expected = JSON.readTree(theirs.get(i));
                JsonNode actual = JSON.readTree(deltaforge.get(i));
                List<String> found = new ArrayList<>();
                diff("", expected, actual, found);
                // With schemas the payload is one level down; the documented differences are the same.
                boolean withSchema = expected.has("schema") && expected.has("payload");
                JsonNode payload = withSchema ? expected.get("payload") : expected;
                boolean looseMessage = payload.path("source").path("txId").isNull();
                found.removeIf(entry -> {
                    String d = withSchema && entry.startsWith("payload.") ? entry.substring("payload.".length()) : entry;
                    return DOCUMENTED_DIFFERENCES.stream().anyMatch(f -> d.startsWith(f + ":"))
                            || looseMessage && LOOSE_MESSAGE_DIFFERENCES.stream().anyMatch(f -> d.startsWith(f + ":"))
                            || snapshot && SNAPSHOT_DIFFERENCES.stream().anyMatch(f -> d.startsWith(f + ":"));
                });
                if (!found.isEmpty()) {
                    differences.add("event " + i + " (" + payload.path("op").asText()
                            + " " + payload.path("source").path("table").asText() + "):\n    "
                            + String.join("\n    ", found) + "\n  debezium:   " + theirs.get(i)
                            + "\n  deltaforge: " + deltaforge.get(i));
                }
            }
            assertThat(differences).as("differences from Debezium in run '%s'", run).isEmpty();
            if (!snapshot) {
                assertThat(theirs).as("the workload reaches Debezium's origin fields")
                        .anyMatch(m -> m.contains("\"origin\":\"upstream\",\"origin_lsn\":11259375"));
            }
        } finally {
            executor.shutdown();
            assertThat(executor.awaitTermination(1, TimeUnit.MINUTES)).as("Debezium engine stopped").isTrue();
            pg.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active");
        }
    }

    /**
     * Debezium's transaction BEGIN/END events against the markers the engine asked our envelope for, in order and
     * field by field. {@code data_collections} is compared as a set (Debezium's order is a hash map's), and a
     * logical message's entry by its presence: Debezium names it by an internal object's identity, DeltaForge by
     * the message's prefix (docs/envelopes.md).
     */
    private static void compareTransactionEvents(String run, ConcurrentLinkedQueue<String> debezium,
                                                 List<String> deltaforge) throws Exception {
        // END comes with the commit, the last record of a transaction; Debezium may still be on its way there.
        await("Debezium's transaction events").atMost(Duration.ofMinutes(1))
                .until(() -> debezium.size() >= deltaforge.size());
        List<String> theirs = new ArrayList<>(debezium);
        assertThat(deltaforge).as("transaction events in run '%s'", run).hasSameSizeAs(theirs).isNotEmpty();
        List<String> differences = new ArrayList<>();
        for (int i = 0; i < theirs.size(); i++) {
            JsonNode expected = normalizedCollections(JSON.readTree(theirs.get(i)));
            JsonNode actual = normalizedCollections(JSON.readTree(deltaforge.get(i)));
            List<String> found = new ArrayList<>();
            diff("", expected, actual, found);
            if (!found.isEmpty()) {
                differences.add("transaction event " + i + ":\n    " + String.join("\n    ", found)
                        + "\n  debezium:   " + theirs.get(i) + "\n  deltaforge: " + deltaforge.get(i));
            }
        }
        assertThat(differences).as("transaction events differing from Debezium's in run '%s'", run).isEmpty();
    }

    /** {@code data_collections} sorted by name, a logical message's entry named {@code <message>}. */
    private static JsonNode normalizedCollections(JsonNode event) {
        JsonNode payload = event.has("payload") && event.has("schema") ? event.get("payload") : event;
        JsonNode collections = payload.path("data_collections");
        if (!collections.isArray()) {
            return event;
        }
        List<JsonNode> entries = new ArrayList<>();
        collections.forEach(entries::add);
        for (JsonNode entry : entries) {
            String name = entry.path("data_collection").asText();
            if (name.startsWith("io.debezium.connector.postgresql.LogicalDecodingMessageMonitor")
                    || name.equals(Workload.MESSAGE_PREFIX)) {
                ((com.fasterxml.jackson.databind.node.ObjectNode) entry).put("data_collection", "<message>");
            }
        }
        entries.sort(java.util.Comparator.comparing(e -> e.path("data_collection").asText()));
        com.fasterxml.jackson.databind.node.ArrayNode sorted = JSON.createArrayNode();
        entries.forEach(sorted::add);
        ((com.fasterxml.jackson.databind.node.ObjectNode) payload).set("data_collections", sorted);
        return event;
    }

    /** Keeps what the engine sends, in order: each event's message and each transaction marker's. */
    private static final class CapturingSink implements Sink {
        final List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<String> markers = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public String id() {
            return "captured";
        }

        @Override
        public CompletionStage<Void> send(Batch batch) {
            batch.messages().forEach(m -> events.add(new String(m.payload(), StandardCharsets.UTF_8)));
            batch.markers().forEach(m -> markers.add(new String(m.message().payload(), StandardCharsets.UTF_8)));
            return CompletableFuture.completedFuture(null);
        }
    }

    private static Properties debeziumConfig(String slot, Map<String, String> overrides) {
        Properties p = new Properties();
        p.setProperty("name", "compat-" + slot);
        p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        p.setProperty("offset.storage", "org.apache.kafka.connect.storage.MemoryOffsetBackingStore");
        p.setProperty("offset.flush.interval.ms", "60000");
        p.setProperty("topic.prefix", SOURCE_ID);
        p.setProperty("database.hostname", pg.host());
        p.setProperty("database.port", Integer.toString(pg.port()));
        p.setProperty("database.user", pg.user());
        p.setProperty("database.password", pg.password());
        p.setProperty("database.dbname", pg.database());
        p.setProperty("plugin.name", "pgoutput");
        p.setProperty("slot.name", slot);
        p.setProperty("publication.name", Workload.PUBLICATION);
        p.setProperty("publication.autocreate.mode", "disabled");
        // Its snapshot would read every table, DeltaForge's bookkeeping ones too: only the publication's.
        p.setProperty("table.include.list", "public.all_types");
        p.setProperty("snapshot.mode", "no_data");
        // Debezium skips truncates unless told otherwise; DeltaForge always sends them.
        p.setProperty("skipped.operations", "none");
        p.setProperty("converter.schemas.enable", "false");
        p.putAll(overrides);
        return p;
    }

    /** Every field where the two trees differ, as {@code path: debezium=.. deltaforge=..}. */
    private static void diff(String path, JsonNode expected, JsonNode actual, List<String> out) {
        if (expected.isObject() && actual.isObject()) {
            Iterator<String> names = expected.fieldNames();
            while (names.hasNext()) {
                String name = names.next();
                String p = path.isEmpty() ? name : path + "." + name;
                if (!actual.has(name)) {
                    out.add(p + ": debezium=" + expected.get(name) + " deltaforge=<absent>");
                } else {
                    diff(p, expected.get(name), actual.get(name), out);
                }
            }
            Iterator<String> ours = actual.fieldNames();
            while (ours.hasNext()) {
                String name = ours.next();
                if (!expected.has(name)) {
                    out.add((path.isEmpty() ? name : path + "." + name) + ": debezium=<absent> deltaforge="
                            + actual.get(name));
                }
            }
        } else if (expected.isArray() && actual.isArray() && expected.size() == actual.size()
                && expected.size() > 0 && expected.get(0).isContainerNode()) {
            // Schemas' field lists: element by element, so one wrong field is named, not the whole list.
            for (int i = 0; i < expected.size(); i++) {
                diff(path + "[" + i + "]", expected.get(i), actual.get(i), out);
            }
        } else if (!expected.equals(actual)) {
            out.add(path + ": debezium=" + expected + " deltaforge=" + actual);
        }
    }
}
