package io.deltaforge.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.Filters.ColumnRule;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FiltersTest {
    private static final List<String> USER_COLUMNS = List.of("id", "email", "password_hash");

    private static ChangeEvent event(Op op, String table, Row before, Row after) {
        SourcePosition pos = new SourcePosition(new Lsn(100), new Lsn(90), 0, 7, Instant.parse("2025-01-15T10:30:00Z"));
        return new ChangeEvent("id-1", "pg", op, TableId.parse(table), before, after, pos);
    }

    private static ChangeEvent insert(String table) {
        return event(Op.CREATE, table, null, Row.of(USER_COLUMNS, 1L, "a@example.com", "secret-hash"));
    }

    @Test
    void opsKeepsOnlyTheNamedOps() {
        EventFilter f = Filters.ops(Set.of(Op.CREATE, Op.DELETE));

        assertThat(f.apply(insert("public.users"))).isNotNull();
        assertThat(f.apply(event(Op.UPDATE, "public.users", null, Row.of(List.of("id"), 1L)))).isNull();
    }

    @Test
    void anEmptyOpSetIsRejectedBecauseItWouldDropEverything() {
        assertThatThrownBy(() -> Filters.ops(Set.of())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("drop every event");
    }

    @Test
    void tablesIncludeAndExcludeUseSchemaDotTableGlobs() {
        EventFilter f = Filters.tables(List.of("public.*", "billing.invoices"), List.of("public.audit_*"));

        assertThat(f.apply(insert("public.users"))).isNotNull();
        assertThat(f.apply(insert("billing.invoices"))).isNotNull();
        assertThat(f.apply(insert("billing.payments"))).isNull();
        assertThat(f.apply(insert("public.audit_log"))).isNull();
    }

    @Test
    void anEmptyIncludeListKeepsEveryTableNotExcluded() {
        EventFilter f = Filters.tables(List.of(), List.of("*.secrets"));

        assertThat(f.apply(insert("any.users"))).isNotNull();
        assertThat(f.apply(insert("vault.secrets"))).isNull();
    }

    @Test
    void aPatternWithoutADotNamesATableInPublic() {
        assertThat(Filters.matches("users", TableId.parse("public.users"))).isTrue();
        assertThat(Filters.matches("users", TableId.parse("other.users"))).isFalse();
        assertThat(Filters.matches("*.user?", TableId.parse("x.users"))).isTrue();
        assertThat(Filters.matches("public.users", TableId.parse("public.Users"))).isFalse();
    }

    @Test
    void badPatternsAreRejectedWithTheFix() {
        assertThatThrownBy(() -> Filters.tables(List.of(" "), List.of())).hasMessageContaining("write schema.table");
        assertThatThrownBy(() -> Filters.tables(List.of("public."), List.of()))
                .hasMessage("table pattern 'public.' has no table part; write schema.table, e.g. public.*");
    }

    @Test
    void columnsExcludeRemovesTheColumnFromBeforeAndAfter() {
        Row old = Row.of(USER_COLUMNS, 1L, "old@example.com", "old-hash");
        Row now = Row.of(USER_COLUMNS, 1L, "new@example.com", "new-hash");
        ChangeEvent e = event(Op.UPDATE, "public.users", old, now);

        ChangeEvent out = Filters.columns(Map.of("public.users", ColumnRule.exclude("password_hash"))).apply(e);

        assertThat(out).isNotNull();
        assertThat(out.before().columns()).containsExactly("id", "email");
        assertThat(out.after().asMap()).containsExactly(Map.entry("id", 1L), Map.entry("email", "new@example.com"));
        assertThat(out.id()).isEqualTo(e.id());
        assertThat(out.position()).isEqualTo(e.position());
    }

    @Test
    void columnsIncludeKeepsOnlyTheNamedColumnsInTableOrder() {
        ChangeEvent out = Filters.columns(Map.of("public.*", ColumnRule.include("email", "id"))).apply(insert("public.users"));

        assertThat(out.after().columns()).containsExactly("id", "email");
    }

    @Test
    void columnRulesOfSeveralMatchingPatternsAllApply() {
        Map<String, ColumnRule> rules = new LinkedHashMap<>();
        rules.put("public.*", ColumnRule.exclude("password_*"));
        rules.put("*.users", ColumnRule.exclude("email"));

        ChangeEvent out = Filters.columns(rules).apply(insert("public.users"));

        assertThat(out.after().columns()).containsExactly("id");
    }

    @Test
    void eventsOfOtherTablesAndWithoutRowsPassUnchanged() {
        EventFilter f = Filters.columns(Map.of("public.users", ColumnRule.exclude("email")));
        ChangeEvent other = insert("public.orders");
        ChangeEvent truncate = event(Op.TRUNCATE, "public.users", null, null);

        assertThat(f.apply(other)).isSameAs(other);
        ChangeEvent t = f.apply(truncate);
        assertThat(t.before()).isNull();
        assertThat(t.after()).isNull();
    }

    @Test
    void blankColumnNamesAreRejected() {
        assertThatThrownBy(() -> ColumnRule.exclude("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("column name is blank");
    }
}
