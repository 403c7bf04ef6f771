package io.deltaforge.yaml;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.deltaforge.api.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A catalogue of broken configurations: loading each reports exactly one problem, the expected line (path, line
 * and column, message) that {@code deltaforge validate} prints.
 */
class BrokenConfigCatalogueTest {
    static final String BASE = """
            apiVersion: deltaforge/v1
            kind: Pipeline
            metadata:
              name: users
            spec:
              source:
                type: test-source
                config:
                  id: pg
                  dsn: postgres://localhost/db
              sinks:
                - type: test-sink
                  config:
                    id: out
                    envelope: test-envelope
            """;

    @TempDir
    Path dir;

    private static String with(String old, String replacement) {
        if (!BASE.contains(old)) {
            throw new IllegalArgumentException("not in BASE: " + old);
        }
        return BASE.replace(old, replacement);
    }

    private static String plus(String specLines) {
        return BASE + specLines;
    }

    private static Arguments broken(String what, String yaml, String expected) {
        return Arguments.of(what, yaml, expected);
    }

    static Stream<Arguments> catalogue() {
        return Stream.of(
                broken("an unsupported apiVersion", with("deltaforge/v1", "deltaforge/v2"),
                        "apiVersion (line 1, column 1): 'deltaforge/v2' is not supported; write apiVersion: deltaforge/v1"),
                broken("a wrong kind", with("kind: Pipeline", "kind: Pipelines"),
                        "kind (line 2, column 1): 'Pipelines' is not supported; write kind: Pipeline"),
                broken("no kind", with("kind: Pipeline\n", ""),
                        "kind (line 1, column 1): is required; write kind: Pipeline"),
                broken("an unknown top-level key", BASE + "status: running\n",
                        "status (line 16, column 1): unknown key; known keys: apiVersion, kind, metadata, spec"),
                broken("no pipeline name", with("  name: users\n", "  tenant: acme\n"),
                        "metadata.name (line 3, column 1): is required; name the pipeline, e.g. name: users-to-nats"),
                broken("a name with a space", with("name: users", "name: users pipeline"),
                        "metadata.name (line 4, column 3): 'users pipeline' is not a valid name; use letters, digits, "
                                + "'.', '_' and '-' (at most 128), starting with a letter or digit"),
                broken("labels as a list", with("  name: users\n", "  name: users\n  labels: [a, b]\n"),
                        "metadata.labels (line 5, column 3): expected a mapping of label names to values, not a list"),
                broken("a misspelt metadata key", with("  name: users\n", "  name: users\n  tenantt: acme\n"),
                        "metadata.tenantt (line 5, column 3): unknown key; did you mean 'tenant'? known keys: name, "
                                + "tenant, labels"),
                broken("no sinks at all", BASE.substring(0, BASE.indexOf("  sinks:")),
                        "spec.sinks (line 5, column 1): is required; add at least one sink, e.g. sinks: [{type: nats, "
                                + "config: {...}}]"),
                broken("an empty sink list", BASE.substring(0, BASE.indexOf("  sinks:")) + "  sinks: []\n",
                        "spec.sinks (line 11, column 3): is empty; add at least one sink"),
                broken("a misspelt source type", with("type: test-source", "type: test-sourc"),
                        "spec.source.type (line 7, column 5): unknown source type 'test-sourc'; did you mean "
                                + "'test-source'? available: postgres, test-source"),
                broken("an unknown sink type", with("type: test-sink", "type: kafka"),
                        "spec.sinks[0].type (line 12, column 7): unknown sink type 'kafka'; available: nats, nats_kv, "
                                + "test-broken-sink, test-sink"),
                broken("a source without type", with("    type: test-source\n", ""),
                        "spec.source.type (line 6, column 3): is required; name the source provider, e.g. type: postgres"),
                broken("source config as a list", with("""
                            config:
                              id: pg
                              dsn: postgres://localhost/db
                        """, "    config: [id, dsn]\n"),
                        "spec.source.config (line 8, column 5): expected a mapping of settings, not a list"),
                broken("a sink without any envelope", with("        envelope: test-envelope\n", ""),
                        "spec.sinks[0].config.envelope (line 13, column 7): is required: the sink needs an envelope "
                                + "and spec.envelope is not set; e.g. envelope: {type: cloudevents}; available: "
                                + "cloudevents, debezium, native, outbox, test-envelope"),
                broken("an unknown envelope type", with("envelope: test-envelope", "envelope: avro"),
                        "spec.sinks[0].config.envelope (line 15, column 9): unknown envelope type 'avro'; available: "
                                + "cloudevents, debezium, native, outbox, test-envelope"),
                broken("an envelope mapping without type", with("envelope: test-envelope",
                                "envelope: {type_prefix: com.acme}"),
                        "spec.sinks[0].config.envelope.type (line 15, column 9): is required; name the envelope, e.g. "
                                + "type: cloudevents; available: cloudevents, debezium, native, outbox, test-envelope"),
                broken("max_events of zero", plus("  batch: {max_events: 0}\n"),
                        "spec.batch.max_events (line 16, column 11): 0 is out of range; expected 1 to 1000000"),
                broken("max_ms as words", plus("  batch: {max_ms: soon}\n"),
                        "spec.batch.max_ms (line 16, column 11): 'soon' is not a whole number; expected 1 to 3600000"),
                broken("max_bytes too big", plus("  batch: {max_bytes: 99999999999}\n"),
                        "spec.batch.max_bytes (line 16, column 11): 99999999999 is out of range; expected 1 to "
                                + "1073741824"),
                broken("respect_source_tx not a boolean", plus("  batch: {respect_source_tx: maybe}\n"),
                        "spec.batch.respect_source_tx (line 16, column 11): 'maybe' is not a boolean; expected true "
                                + "or false"),
                broken("a misspelt batch key", plus("  batch: {max_event: 5}\n"),
                        "spec.batch.max_event (line 16, column 11): unknown key; did you mean 'max_events'? known keys: "
                                + "max_events, max_bytes, max_ms, respect_source_tx"),
                broken("quorum mode without a count", plus("  commit_policy: {mode: quorum}\n"),
                        "spec.commit_policy.quorum (line 16, column 3): is required with mode: quorum; e.g. quorum: 2"),
                broken("a quorum above the sink count", plus("  commit_policy: {mode: quorum, quorum: 3}\n"),
                        "spec.commit_policy.quorum (line 16, column 33): 3 is more than the 1 sink(s); expected 1 to 1"),
                broken("an unknown commit mode", plus("  commit_policy: {mode: most}\n"),
                        "spec.commit_policy.mode (line 16, column 19): unknown mode 'most'; expected all, required, "
                                + "quorum, at-least"),
                broken("a quorum count without quorum mode", plus("  commit_policy: {mode: all, quorum: 1}\n"),
                        "spec.commit_policy.quorum (line 16, column 30): is only used with mode: quorum; remove it or "
                                + "write mode: quorum"),
                broken("an unsupported pipeline encoding", plus("  encoding: avro\n"),
                        "spec.encoding (line 16, column 3): 'avro' is not supported; only json is available for now"),
                broken("an unsupported sink encoding", with("        envelope: test-envelope\n",
                                "        envelope: test-envelope\n        encoding: protobuf\n"),
                        "spec.sinks[0].config.encoding (line 16, column 9): 'protobuf' is not supported; only json is "
                                + "available for now"),
                broken("required not a boolean", with("        envelope: test-envelope\n",
                                "        envelope: test-envelope\n        required: sometimes\n"),
                        "spec.sinks[0].config.required (line 16, column 9): 'sometimes' is not a boolean; expected "
                                + "true or false"),
                broken("an unknown op code", plus("  filters: {ops: [c, x]}\n"),
                        "spec.filters.ops[1] (line 16, column 22): 'x' is not an op; expected c, u, d, r, t or m"),
                broken("an empty op list", plus("  filters: {ops: []}\n"),
                        "spec.filters.ops (line 16, column 13): is empty, which would drop every event; list the ops "
                                + "to keep, e.g. ops: [c, u, d]"),
                broken("table patterns as a single string", plus("  filters: {tables: {include: public.users}}\n"),
                        "spec.filters.tables.include (line 16, column 22): expected a list (schema.table patterns), not "
                                + "'public.users'"),
                broken("a misspelt filters key", plus("  filters: {table: {include: [a.b]}}\n"),
                        "spec.filters.table (line 16, column 13): unknown key; did you mean 'tables'? known keys: ops, "
                                + "tables, columns"),
                broken("a column rule with include and exclude", plus(
                                "  filters:\n    columns:\n      public.users: {include: [id], exclude: [email]}\n"),
                        "spec.filters.columns.public.users (line 18, column 7): has both include and exclude; use one "
                                + "of them"),
                broken("a sink filter with a pattern without table", with("        envelope: test-envelope\n",
                                "        envelope: test-envelope\n        filters: {tables: {exclude: [\"audit.\"]}}\n"),
                        "spec.sinks[0].config.filters.tables.exclude[0] (line 16, column 38): table pattern 'audit.' "
                                + "has no table part; write schema.table, e.g. audit.*"),
                broken("an unset environment variable", with("postgres://localhost/db", "${PG_DSN}"),
                        "spec.source.config.dsn (line 10, column 7): environment variable PG_DSN is not set; export it "
                                + "or write ${PG_DSN:-default}"),
                broken("a duplicate key", with("    id: out\n", "    id: out\n        id: again\n"),
                        "spec.sinks[0].config.id (line 15, column 9): duplicate key 'id' (first at line 14); write each "
                                + "key once"),
                broken("a misspelt provider key", with("        id: out\n", "        id: out\n        subjct: a\n"),
                        "spec.sinks[0].config.subjct (line 15, column 9): unknown key; did you mean 'subject'? known "
                                + "keys: batch_timeout_secs, id, send_timeout_secs, stream, subject, url, envelope, "
                                + "encoding, required, filters"),
                broken("a provider number out of range", with("        id: out\n",
                                "        id: out\n        send_timeout_secs: 0\n"),
                        "spec.sinks[0].config.send_timeout_secs (line 15, column 9): 0 is out of range; expected 1 to 3600"),
                broken("a missing provider key", with("      id: pg\n", ""),
                        "spec.source.config.id (line 8, column 5): is required"),
                broken("two sinks with one id", BASE + """
                            - type: test-sink
                              config:
                                id: out
                                envelope: test-envelope
                        """.replace("                ", "    ").indent(0),
                        "spec.sinks[1] (line 16, column 7): sink id 'out' is used twice; give each sink its own id"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("catalogue")
    void loadingReportsTheOneExpectedLine(String what, String yaml, String expected) throws IOException {
        Path file = dir.resolve("broken.yaml");
        Files.writeString(file, yaml);
        Map<String, String> env = Map.of();

        Throwable failure = catchThrowable(
                () -> PipelineConfigLoader.create().withEnvironment(env::get).definitions(List.of(file)));

        assertThat(failure).as(what).isInstanceOf(ConfigException.class);
        // The lines deltaforge validate prints, one per problem (RunnerTest checks that it does).
        List<?> problems = failure instanceof YamlConfigException located ? located.located()
                : ((ConfigException) failure).problems();
        assertThat(problems).as(what).map(Object::toString).containsExactly(expected);
    }

    @Test
    void theCatalogueHasAtLeastThirtyCases() {
        assertThat(catalogue().count()).isGreaterThanOrEqualTo(30);
        List<Object> names = catalogue().map(a -> a.get()[0]).toList();
        assertThat(names).doesNotHaveDuplicates();
    }
}
