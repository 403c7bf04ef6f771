package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.TableId;
import io.deltaforge.api.internal.condition.Condition;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConditionSqlTest {
    private static final TableScan USERS = new TableScan(new TableId("public", "users"),
            List.of("id", "Name", "say \"hi\"", "born"), new int[] {23, 25, 25, 1184},
            new String[] {"pg_catalog.int4", "pg_catalog.text", "pg_catalog.\"varchar\"", "pg_catalog.timestamptz"},
            new int[] {0}, new String[] {"integer"}, null, 0, "");

    @Test
    void literalsBecomeParametersCastToTheirColumnsTypeAndNamesAreQuoted() {
        ConditionSql sql = ConditionSql.render(Condition.parse("id IN (1, 2) AND \"Name\" = 'O''Brien' OR NOT "
                + "\"say \"\"hi\"\"\" BETWEEN 'a' AND 'b' OR born IS NOT NULL"), USERS);
        assertThat(sql.sql()).isEqualTo("(((\"id\" IN (?::pg_catalog.int4, ?::pg_catalog.int4)) AND (\"Name\" = "
                + "?::pg_catalog.text)) OR (NOT (\"say \"\"hi\"\"\" BETWEEN ?::pg_catalog.\"varchar\" AND "
                + "?::pg_catalog.\"varchar\")) OR (\"born\" IS NOT NULL))");
        assertThat(sql.parameters()).containsExactly("1", "2", "O'Brien", "a", "b");
        assertThat(sql.literalsQuery()).isEqualTo("SELECT ?::pg_catalog.int4, ?::pg_catalog.int4, ?::pg_catalog.text, "
                + "?::pg_catalog.\"varchar\", ?::pg_catalog.\"varchar\"");
    }

    @Test
    void operatorsAndBooleansRenderAsSql() {
        ConditionSql sql = ConditionSql.render(Condition.parse("id != -1 AND id >= 2.5e1 AND \"Name\" <> TRUE"), USERS);
        assertThat(sql.sql()).isEqualTo("((\"id\" <> ?::pg_catalog.int4) AND (\"id\" >= ?::pg_catalog.int4) AND "
                + "(\"Name\" <> ?::pg_catalog.text))");
        assertThat(sql.parameters()).containsExactly("-1", "2.5e1", "true");
        assertThat(ConditionSql.render(Condition.parse("born IS NULL"), USERS).literalsQuery()).isNull();
    }

    @Test
    void aColumnTheTableDoesNotPublishIsRejectedWithItsPositionAndTheColumns() {
        assertThatThrownBy(() -> ConditionSql.render(Condition.parse("id = 1 OR name = 'x'"), USERS))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("at position 11: table public.users has no column name (its columns: id, "
                        + "\"Name\", \"say \"\"hi\"\"\", born)");
    }
}
