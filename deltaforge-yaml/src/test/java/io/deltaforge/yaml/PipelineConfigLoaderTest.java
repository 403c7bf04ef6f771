package io.deltaforge.yaml;

import static io.deltaforge.yaml.fixtures.SampleConfigs.SEED;
import static io.deltaforge.yaml.fixtures.SampleConfigs.VALID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.Pipeline;
import io.deltaforge.api.SinkBinding;
import io.deltaforge.spi.CommitPolicy;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.Providers;
import io.deltaforge.spi.SinkOutcome;
import io.deltaforge.spi.SinkProvider;
import io.deltaforge.spi.SourceProvider;
import io.deltaforge.yaml.TestProviders.TestEnvelope;
import io.deltaforge.yaml.TestProviders.TestSink;
import io.deltaforge.yaml.TestProviders.TestSource;
import io.deltaforge.yaml.fixtures.SampleConfigs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipelineConfigLoaderTest {
    /** The sink envelope lines of {@link SampleConfigs#VALID}. */
    static final String ENVELOPE = "        envelope:\n          type: test-envelope\n";

    private final Map<String, String> env = new HashMap<>();

    private PipelineConfigLoader loader() {
        return PipelineConfigLoader.create().withEnvironment(env::get);
    }

    private PipelineDefinition one(String yaml) {
        List<PipelineDefinition> defs = loader().definitions(yaml, "test.yaml");
        assertThat(defs).hasSize(1);
        return defs.get(0);
    }

    private List<String> problems(String yaml) {
        YamlConfigException e = catchThrowableOfType(YamlConfigException.class,
                () -> loader().definitions(yaml, "test.yaml"));
        assertThat(e).as("expected configuration problems").isNotNull();
        return e.problems().stream().map(Object::toString).toList();
    }

    private static String seedWithTestTypes() throws IOException {
        return Files.readString(SEED)
                .replace("type: postgres", "type: test-source")
                .replace("type: nats", "type: test-sink")
                .replace("type: cloudevents", "type: test-envelope");
    }

    private static List<SinkOutcome> outcomes(String... states) {
        // "R+" required delivered, "R-" required pending, "O+" optional delivered, "O-" optional pending
        return java.util.Arrays.stream(states).map(s -> new SinkOutcome("s" + s, s.charAt(0) == 'R',
                s.charAt(1) == '+' ? SinkOutcome.State.DELIVERED : SinkOutcome.State.PENDING)).toList();
    }

    @Test
    void seedYamlLoadsWithItsStructureHandedToTheProviders() throws IOException {
        env.put("POSTGRES_DSN", "postgres://u:p@127.0.0.1:5432/app");
        env.put("NATS_URL", "nats://127.0.0.1:4222");

        PipelineDefinition d = one(seedWithTestTypes());

        assertThat(d.name()).isEqualTo("users-postgres-to-nats");
        assertThat(d.tenant()).isEqualTo("acme");
        TestSource source = (TestSource) d.source();
        assertThat(source.id()).isEqualTo("users-postgres");
        assertThat(source.pipeline()).isEqualTo(new io.deltaforge.spi.ProviderConfig.PipelineInfo(
                "users-postgres-to-nats", "acme"));
        assertThat(source.settings()).containsEntry("dsn", "postgres://u:p@127.0.0.1:5432/app")
                .containsEntry("slot", "deltaforge_users")
                .containsEntry("publication", "users_pub")
                .containsEntry("tables", List.of("public.users", "public.profiles", "public.user_sessions"))
                .containsEntry("start_position", "earliest");
        assertThat(d.sinks()).hasSize(1);
        SinkBinding binding = d.sinks().get(0);
        assertThat(binding.required()).isTrue();
        TestSink sink = (TestSink) binding.sink();
        assertThat(sink.id()).isEqualTo("users-nats");
        assertThat(sink.keys()).containsExactly("id", "url", "subject", "stream", "send_timeout_secs",
                "batch_timeout_secs");
        assertThat(sink.settings()).containsEntry("url", "nats://127.0.0.1:4222")
                .containsEntry("send_timeout_secs", 5).containsEntry("batch_timeout_secs", 30);
        TestEnvelope envelope = (TestEnvelope) binding.envelope();
        assertThat(envelope).isNotNull();
        assertThat(envelope.typePrefix()).isEqualTo("com.acme.users");
        assertThat(envelope.keys()).containsExactly("type_prefix");
        assertThat(d.envelope()).isNull();
        assertThat(d.batch()).isEqualTo(new BatchConfig(500, BatchConfig.defaults().maxBytes(),
                Duration.ofMillis(500), true));
        assertThat(d.commitPolicy().isSatisfied(outcomes("R+", "O-"))).isTrue();
        assertThat(d.commitPolicy().isSatisfied(outcomes("R-", "O+"))).isFalse();
        assertThat(d.origin()).isEqualTo("test.yaml:1");
    }

    @Test
    void seedYamlLoadsWithTheRealProvidersWhenTheyAreOnTheClassPath() {
        ClassLoader cl = getClass().getClassLoader();
        assumeTrue(Providers.of(SourceProvider.class, cl).types().contains("postgres")
                && Providers.of(SinkProvider.class, cl).types().contains("nats")
                && Providers.of(EnvelopeProvider.class, cl).types().contains("cloudevents"),
                "the postgres, nats and cloudevents providers are not installed yet");
        env.put("POSTGRES_DSN", "postgres://postgres:postgres@127.0.0.1:5432/postgres");
        env.put("NATS_URL", "nats://127.0.0.1:4222");

        List<Pipeline> pipelines = loader().load(SEED);

        assertThat(pipelines).extracting(Pipeline::name).containsExactly("users-postgres-to-nats");
    }

    @Test
    void seedYamlNamesEachUnsetVariableWithItsPath() throws IOException {
        List<String> problems = problems(seedWithTestTypes());

        assertThat(problems).containsExactly(
                "spec.source.config.dsn: environment variable POSTGRES_DSN is not set; export it or write "
                        + "${POSTGRES_DSN:-default}",
                "spec.sinks[0].config.url: environment variable NATS_URL is not set; export it or write "
                        + "${NATS_URL:-default}");
    }

    @Test
    void locatedProblemsShowLineAndColumn() throws IOException {
        YamlConfigException e = catchThrowableOfType(YamlConfigException.class,
                () -> loader().definitions(seedWithTestTypes(), "seed.yaml"));

        assertThat(e.located().get(0).toString()).isEqualTo("spec.source.config.dsn (line 11, column 7): "
                + "environment variable POSTGRES_DSN is not set; export it or write ${POSTGRES_DSN:-default}");
        assertThat(e.getMessage()).contains("spec.sinks[0].config.url (line 23, column 9): ");
    }

    @Test
    void interpolatesVariablesDefaultsAndEscapesAfterParsing() {
        env.put("DSN", "postgres://u:p@h/db # not: a comment\n- nor a list");
        env.put("EMPTY", "");
        String yaml = VALID.replace("dsn: postgres://localhost/db", """
                dsn: ${DSN}
                      slot: ${SLOT:-slot_default}
                      publication: "${EMPTY:-pub_default}"
                      start_position: "$${literal} and ${EMPTY}."
                """.stripTrailing());

        TestSource source = (TestSource) one(yaml).source();

        assertThat(source.settings()).containsEntry("dsn", "postgres://u:p@h/db # not: a comment\n- nor a list")
                .containsEntry("slot", "slot_default")
                .containsEntry("publication", "pub_default")
                .containsEntry("start_position", "${literal} and .");
    }

    @Test
    void interpolatedNumbersAndBooleansAreAccepted() {
        env.put("MAX", "250");
        String yaml = VALID + """
                  batch:
                    max_events: ${MAX}
                    max_ms: ${WAIT_MS:-750}
                    respect_source_tx: ${TX:-false}
                """;

        BatchConfig batch = one(yaml).batch();

        assertThat(batch).isEqualTo(new BatchConfig(250, BatchConfig.defaults().maxBytes(), Duration.ofMillis(750),
                false));
    }

    @Test
    void unknownKeysSuggestTheClosestKnownKey() {
        String yaml = VALID.replace("  sinks:", "  sink:") + """
                  batch:
                    max_event: 5
                """;

        assertThat(problems(yaml)).contains(
                "spec.sink: unknown key; did you mean 'sinks'? known keys: source, sinks, envelope, encoding, "
                        + "batch, commit_policy, filters",
                "spec.batch.max_event: unknown key; did you mean 'max_events'? known keys: max_events, max_bytes, "
                        + "max_ms, respect_source_tx",
                "spec.sinks: is required; add at least one sink, e.g. sinks: [{type: nats, config: {...}}]");
    }

    @Test
    void unknownKeysOfAProviderGetASuggestionToo() {
        String yaml = VALID.replace("id: out", "id: out\n        subjct: x\n        requird: false");

        List<String> problems = problems(yaml);

        assertThat(problems).hasSize(2);
        assertThat(problems.get(0)).startsWith("spec.sinks[0].config.subjct: unknown key; did you mean 'subject'? "
                + "known keys: ");
        assertThat(problems.get(1)).startsWith("spec.sinks[0].config.requird: unknown key; did you mean 'required'?");
    }

    @Test
    void reportsEveryProblemOfEveryPartTogether() {
        String yaml = """
                apiVersion: deltaforge/v2
                kind: Pipe
                metadata:
                  tenant: acme
                spec:
                  source:
                    type: test-source
                    config: {dsn: x}
                  sinks:
                    - type: test-sink
                      config: {id: a, envelope: test-envelope, send_timeout_secs: 0}
                  batch: {max_events: 0}
                  commit_policy: {mode: everything}
                """;

        assertThat(problems(yaml)).containsExactly(
                "apiVersion: 'deltaforge/v2' is not supported; write apiVersion: deltaforge/v1",
                "kind: 'Pipe' is not supported; write kind: Pipeline",
                "metadata.name: is required; name the pipeline, e.g. name: users-to-nats",
                "spec.source.config.id: is required",
                "spec.sinks[0].config.send_timeout_secs: 0 is out of range; expected 1 to 3600",
                "spec.batch.max_events: 0 is out of range; expected 1 to 1000000",
                "spec.commit_policy.mode: unknown mode 'everything'; expected all, required, quorum, at-least");
    }

    @Test
    void wrongTypesNameWhatWasExpected() {
        String yaml = """
                apiVersion: deltaforge/v1
                kind: Pipeline
                metadata:
                  name: users
                  labels: [a, b]
                spec:
                  source:
                    type: test-source
                    config: [id, pg]
                  sinks:
                    type: test-sink
                  batch:
                    max_events: lots
                    max_bytes: 1.5
                    respect_source_tx: maybe
                """;

        assertThat(problems(yaml)).containsExactly(
                "metadata.labels: expected a mapping of label names to values, not a list",
                "spec.source.config: expected a mapping of settings, not a list",
                "spec.sinks: expected a list (one entry per sink, each with type and config), not a mapping",
                "spec.batch.max_events: 'lots' is not a whole number; expected 1 to 1000000",
                "spec.batch.max_bytes: 1.5 is not a whole number; expected 1 to 1073741824",
                "spec.batch.respect_source_tx: 'maybe' is not a boolean; expected true or false");
    }

    @Test
    void outOfRangeNumbersAreReportedWithTheRange() {
        String yaml = VALID + """
                  batch:
                    max_ms: 3600001
                    max_bytes: -1
                """;

        assertThat(problems(yaml)).containsExactly(
                "spec.batch.max_bytes: -1 is out of range; expected 1 to 1073741824",
                "spec.batch.max_ms: 3600001 is out of range; expected 1 to 3600000");
    }

    @Test
    void unknownProviderTypeListsTheAvailableOnes() {
        String yaml = VALID.replace("type: test-sink", "type: test-snk").replace("type: test-source", "type: mysql");

        List<String> problems = problems(yaml);

        assertThat(problems).hasSize(2);
        assertThat(problems.get(0)).startsWith("spec.source.type: unknown source type 'mysql'; available: ")
                .contains("test-source");
        assertThat(problems.get(1)).startsWith("spec.sinks[0].type: unknown sink type 'test-snk'; did you mean "
                + "'test-sink'? available: ").contains("test-broken-sink, ").contains("test-sink");
    }

    @Test
    void aProviderThatThrowsIsNamedInTheProblem() {
        String yaml = VALID.replace("type: test-sink", "type: test-broken-sink");

        assertThat(problems(yaml)).containsExactly("spec.sinks[0].config: the 'test-broken-sink' sink provider ("
                + TestProviders.BrokenSinkProvider.class.getName() + ") failed: IllegalStateException: boom");
    }

    @Test
    void severalDocumentsGiveSeveralPipelines() {
        String yaml = VALID + "---\n" + VALID.replace("name: users", "name: orders") + "---\n";

        List<PipelineDefinition> defs = loader().definitions(yaml, "multi.yaml");

        assertThat(defs).extracting(PipelineDefinition::name).containsExactly("users", "orders");
        assertThat(defs.get(1).origin()).isEqualTo("multi.yaml:18");
    }

    @Test
    void pipelineNamesMustBeUniqueAcrossDocuments() {
        List<String> problems = problems(VALID + "---\n" + VALID);

        assertThat(problems).containsExactly("metadata.name: pipeline name 'users' is already used at test.yaml:1; "
                + "give each pipeline its own name");
    }

    @Test
    void aDirectoryStandsForItsYamlFiles(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("b.yml"), VALID.replace("name: users", "name: b"));
        Files.writeString(dir.resolve("a.yaml"), VALID.replace("name: users", "name: a"));
        Files.writeString(dir.resolve("notes.txt"), "not yaml: [");
        Files.writeString(dir.resolve(".hidden.yaml"), "not yaml: [");

        List<Pipeline> pipelines = loader().load(dir);

        assertThat(pipelines).extracting(Pipeline::name).containsExactly("a", "b");
    }

    @Test
    void problemsInADirectoryNameTheirFile(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("a.yaml"), VALID.replace("name: users", "name: a"));
        Files.writeString(dir.resolve("b.yaml"), VALID.replace("name: users", "name: b").replace("id: out", "id: out\n        x: 1"));

        YamlConfigException e = catchThrowableOfType(YamlConfigException.class, () -> loader().load(dir));

        assertThat(e.located()).hasSize(1);
        assertThat(e.located().get(0).toString()).isEqualTo(dir.resolve("b.yaml") + ": spec.sinks[0].config.x "
                + "(line 15, column 9): unknown key; known keys: batch_timeout_secs, id, send_timeout_secs, stream, "
                + "subject, url, envelope, encoding, required, filters");
    }

    @Test
    void aMissingFileOrEmptyDirectoryIsAProblem(@TempDir Path dir) {
        assertThat(catchThrowableOfType(YamlConfigException.class, () -> loader().load(dir.resolve("nope.yaml")))
                .problems()).extracting(Object::toString)
                .containsExactly("configuration file " + dir.resolve("nope.yaml") + " does not exist; pass a YAML "
                        + "file or a directory of them");
        assertThat(catchThrowableOfType(YamlConfigException.class, () -> loader().load(dir)).problems())
                .extracting(Object::toString).containsExactly("no *.yaml or *.yml files in directory " + dir);
    }

    @Test
    void commitPolicyModesMapToTheirPolicies() {
        String twoSinks = VALID + """
                    - type: test-sink
                      config:
                        id: audit
                        required: false
                        envelope: test-envelope
                """;

        CommitPolicy all = one(twoSinks + "  commit_policy: {mode: all}\n").commitPolicy();
        CommitPolicy required = one(twoSinks + "  commit_policy:\n    mode: required\n").commitPolicy();
        CommitPolicy byDefault = one(twoSinks).commitPolicy();
        CommitPolicy quorum = one(twoSinks + "  commit_policy: {mode: quorum, quorum: 2}\n").commitPolicy();
        CommitPolicy custom = one(twoSinks + "  commit_policy: {mode: at-least, min: 1}\n").commitPolicy();

        assertThat(all.isSatisfied(outcomes("R+", "O-"))).isFalse();
        assertThat(all.isSatisfied(outcomes("R+", "O+"))).isTrue();
        assertThat(required.isSatisfied(outcomes("R+", "O-"))).isTrue();
        assertThat(byDefault.isSatisfied(outcomes("R+", "O-"))).isTrue();
        assertThat(byDefault.isSatisfied(outcomes("R-", "O+"))).isFalse();
        assertThat(quorum.isSatisfied(outcomes("R+", "O-"))).isFalse();
        assertThat(quorum.isSatisfied(outcomes("R+", "O+"))).isTrue();
        assertThat(custom.isSatisfied(outcomes("R-", "O+"))).isTrue();
    }

    @Test
    void commitPolicyMistakesAreExplained() {
        assertThat(problems(VALID + "  commit_policy: {mode: quorum}\n"))
                .containsExactly("spec.commit_policy.quorum: is required with mode: quorum; e.g. quorum: 2");
        assertThat(problems(VALID + "  commit_policy: {mode: quorum, quorum: 2}\n"))
                .containsExactly("spec.commit_policy.quorum: 2 is more than the 1 sink(s); expected 1 to 1");
        assertThat(problems(VALID + "  commit_policy: {mode: all, quorum: 1}\n"))
                .containsExactly("spec.commit_policy.quorum: is only used with mode: quorum; remove it or write "
                        + "mode: quorum");
        assertThat(problems(VALID + "  commit_policy: {mode: requried}\n"))
                .containsExactly("spec.commit_policy.mode: unknown mode 'requried'; did you mean 'required'? "
                        + "expected all, required, quorum, at-least");
    }

    @Test
    void sinkRequiredEnvelopeAndEncodingAreTakenOutOfTheSinkConfig() {
        String yaml = VALID.replace(ENVELOPE, """
                        required: false
                        encoding: json
                        envelope:
                          type: test-envelope
                          type_prefix: com.example
                """);

        SinkBinding b = one(yaml).sinks().get(0);

        assertThat(b.required()).isFalse();
        assertThat(((TestSink) b.sink()).keys()).containsExactly("id");
        assertThat(((TestEnvelope) b.envelope()).typePrefix()).isEqualTo("com.example");
    }

    @Test
    void sinksWithoutAnEnvelopeUseThePipelineEnvelope() {
        String yaml = VALID.replace(ENVELOPE, "") + """
                    - type: test-sink
                      config: {id: own, envelope: {type: test-envelope, type_prefix: own}}
                  envelope:
                    type: test-envelope
                    type_prefix: shared
                """;

        PipelineDefinition d = one(yaml);

        assertThat(((TestEnvelope) d.envelope()).typePrefix()).isEqualTo("shared");
        assertThat(d.sinks().get(0).envelope()).isNull();
        assertThat(((TestEnvelope) d.sinks().get(1).envelope()).typePrefix()).isEqualTo("own");
        assertThat(d.build().name()).isEqualTo("users");
    }

    @Test
    void aSinkWithoutAnyEnvelopeIsAProblem() {
        String yaml = VALID.replace(ENVELOPE, "        encoding: avro\n");

        List<String> problems = problems(yaml);

        assertThat(problems).hasSize(2);
        assertThat(problems.get(0))
                .isEqualTo("spec.sinks[0].config.encoding: 'avro' is not supported; only json is available for now");
        assertThat(problems.get(1)).startsWith("spec.sinks[0].config.envelope: is required: the sink needs an "
                + "envelope and spec.envelope is not set; e.g. envelope: {type: cloudevents}; available: ")
                .contains("test-envelope");
    }

    @Test
    void envelopeSettingsAreCheckedByTheEnvelopeProvider() {
        String yaml = VALID.replace("type: test-envelope", "type: test-envelope\n          type_prefx: x");

        assertThat(problems(yaml)).containsExactly("spec.sinks[0].config.envelope.type_prefx: unknown key; did you "
                + "mean 'type_prefix'? known keys: type_prefix, type");
    }

    @Test
    void duplicateSinkIdsAreReportedUnderSpec() {
        String yaml = VALID + """
                    - type: test-sink
                      config: {id: out, envelope: test-envelope}
                """;

        assertThat(problems(yaml)).containsExactly("spec.sinks[1]: sink id 'out' is used twice; give each sink its "
                + "own id");
    }

    @Test
    void duplicateKeysAndSyntaxErrorsPointAtTheirLine() {
        YamlConfigException dup = catchThrowableOfType(YamlConfigException.class,
                () -> loader().definitions(VALID.replace("kind: Pipeline", "kind: Pipeline\nkind: Pipeline"), "t"));
        assertThat(dup.located()).extracting(Object::toString)
                .containsExactly("kind (line 3, column 1): duplicate key 'kind' (first at line 2); write each key once");

        YamlConfigException syntax = catchThrowableOfType(YamlConfigException.class,
                () -> loader().definitions("apiVersion: deltaforge/v1\nkind: [Pipeline\n", "t"));
        assertThat(syntax.located()).hasSize(1);
        assertThat(syntax.located().get(0).line()).isGreaterThan(1);
        assertThat(syntax.located().get(0).problem().message()).startsWith("invalid YAML: ");
    }

    @Test
    void emptyInputAndNonMappingDocumentsAreProblems() {
        assertThat(problems("# nothing\n")).containsExactly("no pipeline in test.yaml; expected a document starting "
                + "with apiVersion: deltaforge/v1");
        assertThat(problems("- a\n- b\n")).containsExactly("expected a mapping (a pipeline: apiVersion, kind, "
                + "metadata and spec), not a list");
    }

    @Test
    void invalidInterpolationIsExplained() {
        String yaml = VALID.replace("postgres://localhost/db", "\"${1BAD} ${OPEN\"");

        assertThat(problems(yaml)).containsExactly(
                "spec.source.config.dsn: '${1BAD}' is not a variable reference; write ${NAME} or ${NAME:-default} "
                        + "(letters, digits, _), or $${ for a literal ${",
                "spec.source.config.dsn: '${' has no closing '}'; write ${NAME}, or $${ for a literal ${");
    }

    @Test
    void loadBuildsPipelinesWithoutStartingThem() {
        assertThatThrownBy(() -> loader().load((Path) null)).isInstanceOf(NullPointerException.class);

        List<Pipeline> pipelines = loader().load(VALID, "inline");

        assertThat(pipelines).extracting(Pipeline::name).containsExactly("users");
    }
}
