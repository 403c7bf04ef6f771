package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.TableId;
import org.junit.jupiter.api.Test;

class TablePatternTest {
    @Test
    void exactNamesMatchOnlyThemselvesAndDefaultToPublic() {
        TablePattern p = TablePattern.parse(" users ");
        assertThat(p.isGlob()).isFalse();
        assertThat(p.tableId()).isEqualTo(new TableId("public", "users"));
        assertThat(p.matches(new TableId("public", "users"))).isTrue();
        assertThat(p.matches(new TableId("public", "users2"))).isFalse();
        assertThat(p.matches(new TableId("other", "users"))).isFalse();
    }

    @Test
    void starMatchesAnyCharactersInEitherPart() {
        assertThat(TablePattern.parse("sales.*").matches(new TableId("sales", "orders"))).isTrue();
        assertThat(TablePattern.parse("sales.*").matches(new TableId("public", "orders"))).isFalse();
        assertThat(TablePattern.parse("public.user_*").matches(new TableId("public", "user_sessions"))).isTrue();
        assertThat(TablePattern.parse("public.user_*").matches(new TableId("public", "users"))).isFalse();
        assertThat(TablePattern.parse("*.users").matches(new TableId("crm", "users"))).isTrue();
        assertThat(TablePattern.parse("*").matches(new TableId("public", "x"))).isTrue();
        assertThat(TablePattern.parse("*").matches(new TableId("crm", "x"))).isFalse();
        assertThat(TablePattern.parse("*.*").matches(new TableId("crm", "x"))).isTrue();
        assertThat(TablePattern.parse("public.a*b*c").matches(new TableId("public", "a1b2c"))).isTrue();
        // Regex characters are literal.
        assertThat(TablePattern.parse("public.a+b").matches(new TableId("public", "aab"))).isFalse();
    }

    @Test
    void rejectsNamesThatAreNotSchemaDotTable() {
        for (String bad : new String[]{"", "public.", ".users", "a.b.c"}) {
            assertThatThrownBy(() -> TablePattern.parse(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("expected schema.table");
        }
    }
}
