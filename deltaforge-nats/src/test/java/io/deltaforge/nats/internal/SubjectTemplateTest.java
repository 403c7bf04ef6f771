package io.deltaforge.nats.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SubjectTemplateTest {
    @Test
    void rendersEveryPlaceholder() {
        SubjectTemplate t = parse("cdc.{tenant}.{schema}.{table}.{op}", "acme");
        assertThat(t.render(event(new TableId("public", "users"), Op.UPDATE))).isEqualTo("cdc.acme.public.users.u");
        assertThat(t.hasPlaceholders()).isTrue();
    }

    @Test
    void theTransactionSubjectIsTheLiteralPrefixAndTransactionAsDebeziumNamesItsTopic() {
        assertThat(parse("cdc.{schema}.{table}", null).transactionSubject()).isEqualTo("cdc.transaction");
        assertThat(parse("cdc.pg.{table}", null).transactionSubject()).isEqualTo("cdc.pg.transaction");
        assertThat(parse("{schema}.{table}", null).transactionSubject()).isEqualTo("transaction");
        assertThat(parse("users.events", null).transactionSubject()).isEqualTo("users.events.transaction");
    }

    @Test
    void aLiteralSubjectRendersAsIs() {
        SubjectTemplate t = parse("users.events", null);
        assertThat(t.hasPlaceholders()).isFalse();
        assertThat(t.render(event(new TableId("public", "users"), Op.CREATE))).isEqualTo("users.events");
        assertThat(t.wildcard()).isEqualTo("users.events");
    }

    @Test
    void valuesCannotBreakTheTokenStructure() {
        SubjectTemplate t = parse("x.{schema}.{table}", null);
        assertThat(t.render(event(new TableId("", "audit.v1 >*"), Op.MESSAGE))).isEqualTo("x._.audit_v1___");
    }

    @Test
    void everyTokenWithAPlaceholderBecomesAWildcard() {
        assertThat(parse("users.events.{table}", null).wildcard()).isEqualTo("users.events.*");
        assertThat(parse("cdc.{schema}_{table}.v1.{op}", null).wildcard()).isEqualTo("cdc.*.v1.*");
    }

    @Test
    void dollarBraceIsLeftForTheEnvironmentAndNeverReadAsAPlaceholder() {
        List<String> problems = new ArrayList<>();
        SubjectTemplate t = SubjectTemplate.parse("users.${table}.{op}", null, problems);
        assertThat(problems).isEmpty();
        assertThat(t.render(event(new TableId("public", "users"), Op.DELETE))).isEqualTo("users.${table}.d");
    }

    @Test
    void unknownUnclosedAndTenantlessPlaceholdersAreConfigProblems() {
        assertThat(problems("users.{tabel}", "acme")).singleElement().asString()
                .contains("unknown placeholder {tabel}").contains("{schema}, {table}, {op}, {tenant}");
        assertThat(problems("users.{table", null)).singleElement().asString().contains("without a closing '}'");
        assertThat(problems("users.{tenant}", null)).singleElement().asString().contains("metadata.tenant");
        assertThat(problems("users..{table}", null)).singleElement().asString().contains("empty token");
        assertThat(problems("users.*", null)).singleElement().asString().contains("wildcard");
    }

    @Test
    void coverageNeedsOneFilterThatCapturesTheWholePattern() {
        assertThat(Subjects.covers("users.>", "users.events.*")).isTrue();
        assertThat(Subjects.covers("users.events.*", "users.events.*")).isTrue();
        assertThat(Subjects.covers("users.*.*", "users.events.*")).isTrue();
        assertThat(Subjects.covers("users.events.users", "users.events.*")).isFalse();
        assertThat(Subjects.covers("users.events", "users.events.*")).isFalse();
        assertThat(Subjects.covers("users.events.>", "users.events")).isFalse();
        assertThat(Subjects.covers(">", "users.events")).isTrue();
    }

    @Test
    void aControlCharacterInTheTemplateIsAProblem() {
        assertThat(problems("cdc.\u0001.{table}", null))
                .containsExactly("'cdc.\u0001.{table}' contains a control character (U+0001); use printable tokens "
                        + "separated by dots, e.g. users.events");
    }

    private static SubjectTemplate parse(String text, String tenant) {
        List<String> problems = new ArrayList<>();
        SubjectTemplate t = SubjectTemplate.parse(text, tenant, problems);
        assertThat(problems).isEmpty();
        return t;
    }

    private static List<String> problems(String text, String tenant) {
        List<String> problems = new ArrayList<>();
        SubjectTemplate.parse(text, tenant, problems);
        return problems;
    }

    private static ChangeEvent event(TableId table, Op op) {
        return new ChangeEvent("id", "src", op, table, null, null,
                new SourcePosition(new Lsn(2), new Lsn(1), 0, 5, Instant.EPOCH));
    }
}
