package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.TableId;
import io.deltaforge.api.internal.condition.Condition;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConditionSqlTest {
    private static final TableId USERS = new TableId("public", "users");
    private static final List<String> COLUMNS = List.of("id", "Name", "say \"hi\"", "born");
    private static final List<String> TYPES = List.of("pg_catalog.int4", "pg_catalog.text", "pg_catalog.\"varchar\"",
            "pg_catalog.timestamptz");

    private static ConditionSql render(String condition) {
        return ConditionSql.render(Condition.parse(condition), USERS, COLUMNS, TYPES);
    }

    @Test
    void literalsBecomeParametersCastToTheirColumnsTypeAndNamesAreQuoted() {
        ConditionSql sql = render("id IN (1, 2) AND \"Name\" = 'O''Brien' OR NOT "
                + "\"say \"\"hi\"\"\" BETWEEN 'a' AND 'b' OR born IS NOT NULL");
        assertThat(sql.sql()).isEqualTo("(((\"id\" IN (?::pg_catalog.int4, ?::pg_catalog.int4)) AND (\"Name\" = "
                + "?::pg_catalog.text)) OR (NOT (\"say \"\"hi\"\"\" BETWEEN ?::pg_catalog.\"varchar\" AND "
                + "?::pg_catalog.\"varchar\")) OR (\"born\" IS NOT NULL))");
        assertThat(sql.parameters()).containsExactly("1", "2", "O'Brien", "a", "b");
        assertThat(sql.literalsQuery()).isEqualTo("SELECT ?::pg_catalog.int4, ?::pg_catalog.int4, ?::pg_catalog.text, "
                + "?::pg_catalog.\"varchar\", ?::pg_catalog.\"varchar\"");
    }

    @Test
    void operatorsAndBooleansRenderAsSql() {
        ConditionSql sql = render("id != -1 AND id >= 2.5e1 AND \"Name\" <> TRUE");
        assertThat(sql.sql()).isEqualTo("((\"id\" <> ?::pg_catalog.int4) AND (\"id\" >= ?::pg_catalog.int4) AND "
                + "(\"Name\" <> ?::pg_catalog.text))");
        assertThat(sql.parameters()).containsExactly("-1", "2.5e1", "true");
        assertThat(render("born IS NULL").literalsQuery()).isNull();
    }

    @Test
    void aColumnTheTableDoesNotPublishIsRejectedWithItsPositionAndTheColumns() {
        assertThatThrownBy(() -> render("id = 1 OR name = 'x'"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("at position 11: table public.users has no column name (its columns: id, "
                        + "\"Name\", \"say \"\"hi\"\"\", born)");
    }
}
