package io.deltaforge.yaml;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code spec.filters} and a sink's {@code config.filters}, mapped onto the pipeline's and the sink's filters. */
class FiltersConfigTest {
    private static final String HEAD = """
            apiVersion: deltaforge/v1
            kind: Pipeline
            metadata:
              name: users
            spec:
              envelope: test-envelope
              source:
                type: test-source
                config: {id: pg}
            """;

    private static ChangeEvent event(Op op, String table) {
        SourcePosition pos = new SourcePosition(new Lsn(10), new Lsn(9), 0, 1, Instant.EPOCH);
        Row row = Row.of(List.of("id", "email", "password_hash"), 1L, "a@example.com", "hash");
        return new ChangeEvent("e1", "pg", op, TableId.parse(table), op == Op.DELETE ? row : null,
                op == Op.DELETE ? null : row, pos);
    }

    private static PipelineDefinition load(String yaml) {
        List<PipelineDefinition> defs = PipelineConfigLoader.create().withEnvironment(k -> null)
                .definitions(yaml, "test.yaml");
        return defs.get(0);
    }

    private static List<String> problems(String yaml) {
        YamlConfigException e = catchThrowableOfType(YamlConfigException.class, () -> load(yaml));
        assertThat(e).isNotNull();
        return e.problems().stream().map(Object::toString).toList();
    }

    @Test
    void pipelineFiltersDropOpsAndTablesAndTrimColumns() {
        PipelineDefinition d = load(HEAD + """
                  filters:
                    ops: [c, u]
                    tables: {include: ["public.*"], exclude: [public.audit_log]}
                    columns:
                      public.users: {exclude: [password_hash]}
                  sinks:
                    - type: test-sink
                      config: {id: out}
                """);

        assertThat(d.filter().apply(event(Op.DELETE, "public.users"))).isNull();
        assertThat(d.filter().apply(event(Op.CREATE, "public.audit_log"))).isNull();
        assertThat(d.filter().apply(event(Op.CREATE, "other.users"))).isNull();
        ChangeEvent kept = d.filter().apply(event(Op.CREATE, "public.users"));
        assertThat(kept).isNotNull();
        assertThat(kept.after().columns()).containsExactly("id", "email");
    }

    @Test
    void sinkFiltersAreTakenOutOfTheSinkConfigAndBoundToTheSink() {
        PipelineDefinition d = load(HEAD + """
                  sinks:
                    - type: test-sink
                      config:
                        id: out
                        filters:
                          columns:
                            "*.*": {include: [id]}
                    - type: test-sink
                      config: {id: all}
                """);

        assertThat(((TestProviders.TestSink) d.sinks().get(0).sink()).keys()).doesNotContain("filters");
        ChangeEvent trimmed = d.sinks().get(0).filter().apply(event(Op.CREATE, "public.users"));
        assertThat(trimmed.after().columns()).containsExactly("id");
        ChangeEvent whole = d.sinks().get(1).filter().apply(event(Op.CREATE, "public.users"));
        assertThat(whole.after().columns()).hasSize(3);
        assertThat(d.filter().apply(event(Op.UPDATE, "x.y"))).isNotNull();
    }

    @Test
    void filterMistakesAreAllReportedWithTheirPaths() {
        assertThat(problems(HEAD + """
                  filters:
                    ops: [c, x]
                    tables: {include: [" "], exlude: []}
                    columns:
                      public.users: {include: [id], exclude: [email]}
                      "public.": {exclude: [a]}
                  sinks:
                    - type: test-sink
                      config: {id: out, filters: {ops: []}}
                """)).containsExactly(
                "spec.filters.ops[1]: 'x' is not an op; expected c, u, d, r, t or m",
                "spec.filters.tables.exlude: unknown key; did you mean 'exclude'? known keys: include, exclude",
                "spec.filters.tables.include[0]: a table pattern is blank; write schema.table, e.g. public.users or "
                        + "public.*",
                "spec.filters.columns.public.users: has both include and exclude; use one of them",
                "spec.filters.columns.public.: table pattern 'public.' has no table part; write schema.table, "
                        + "e.g. public.*",
                "spec.sinks[0].config.filters.ops: is empty, which would drop every event; list the ops to keep, "
                        + "e.g. ops: [c, u, d]");
    }
}
