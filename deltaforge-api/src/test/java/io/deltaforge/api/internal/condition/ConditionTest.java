package io.deltaforge.api.internal.condition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.internal.condition.Condition.And;
import io.deltaforge.api.internal.condition.Condition.Column;
import io.deltaforge.api.internal.condition.Condition.Compare;
import io.deltaforge.api.internal.condition.Condition.Literal;
import io.deltaforge.api.internal.condition.Condition.Not;
import io.deltaforge.api.internal.condition.Condition.Operator;
import io.deltaforge.api.internal.condition.Condition.Or;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConditionTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "id > 100                                  | id > 100",
        "ID>=-5                                    | id >= -5",
        "price <= 12.50                            | price <= 12.50",
        "ratio < 1.5e-3                            | ratio < 1.5e-3",
        "a != 1                                    | a <> 1",
        "name = 'it''s'                            | name = 'it''s'",
        "active = true                             | active = TRUE",
        "x IS NULL                                 | x IS NULL",
        "x is not null                             | x IS NOT NULL",
        "status in ('open','held')                 | status IN ('open', 'held')",
        "id NOT IN (1, 2)                          | id NOT IN (1, 2)",
        "id between 1 and 10                       | id BETWEEN 1 AND 10",
        "id NOT BETWEEN 1 AND 10 AND x = 1         | id NOT BETWEEN 1 AND 10 AND x = 1",
        "\"Mixed Case\" = 1                        | \"Mixed Case\" = 1",
        "\"say \"\"hi\"\"\" = 1                    | \"say \"\"hi\"\"\" = 1",
        "\"select\" = 1                            | \"select\" = 1",
        "\"id\" = 1                                | id = 1",
        "a = 1 OR b = 2 AND c = 3                  | a = 1 OR b = 2 AND c = 3",
        "(a = 1 OR b = 2) AND c = 3                | (a = 1 OR b = 2) AND c = 3",
        "((a = 1))                                 | a = 1",
        "(a = 1 AND b = 2) AND c = 3               | a = 1 AND b = 2 AND c = 3",
        "NOT a = 1 AND b = 2                       | NOT a = 1 AND b = 2",
        "NOT (a = 1 AND b = 2)                     | NOT (a = 1 AND b = 2)",
        "NOT NOT a = 1                             | NOT NOT a = 1",
        "created_at >= '2026-12-01T00:00:00Z'      | created_at >= '2026-12-01T00:00:00Z'",
    })
    void validFormsPrintBackCanonicallyAndReparseToTheSameTree(String text, String canonical) {
        Condition c = Condition.parse(text);
        assertThat(c.canonical()).isEqualTo(canonical);
        assertThat(Condition.parse(c.canonical()).canonical()).isEqualTo(canonical);
    }

    @Test
    void andBindsTighterThanOrAndNotTighterThanAnd() {
        Condition c = Condition.parse("NOT a = 1 AND b = 2 OR c = 3");
        assertThat(c).isInstanceOf(Or.class);
        Or or = (Or) c;
        assertThat(or.parts()).hasSize(2);
        assertThat(or.parts().get(0)).isInstanceOf(And.class);
        And and = (And) or.parts().get(0);
        assertThat(and.parts().get(0)).isEqualTo(new Not(new Compare(new Column("a", 5), Operator.EQUAL,
                new Literal(Literal.Kind.NUMBER, "1"))));
    }

    @Test
    void literalsKeepTheirValueAsText() {
        Compare c = (Compare) Condition.parse("\"Name\" = 'O''Brien'");
        assertThat(c.column().name()).isEqualTo("Name");
        assertThat(c.value()).isEqualTo(new Literal(Literal.Kind.STRING, "O'Brien"));
        assertThat(((Compare) Condition.parse("flag = FALSE")).value())
                .isEqualTo(new Literal(Literal.Kind.BOOLEAN, "false"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "1=1) UNION SELECT usename FROM pg_user --     | 1   | expected a column name",
        "id = 1) UNION SELECT passwd FROM pg_shadow     | 7   | unexpected ')'",
        "id = 1 UNION SELECT 1                          | 8   | unexpected union",
        "id = 1; DROP TABLE users                       | 7   | ';' is not allowed",
        "id = 1 OR pg_sleep(5) IS NULL                  | 11  | function calls such as pg_sleep",
        "id = pg_sleep(5)                               | 6   | expected a literal after =",
        "id IN (SELECT id FROM secrets)                 | 8   | expected a literal",
        "(SELECT count(*) FROM pg_authid) > 0           | 2   | SQL keyword SELECT",
        "EXISTS (SELECT 1)                              | 1   | function calls",
        "id = 1 -- comment                              | 8   | comments ('--')",
        "id = 1 /* comment */                           | 8   | comments ('/*')",
        "id = '1'::int                                  | 9   | casts ('::')",
        "id::text = '1'                                 | 3   | casts ('::')",
        "name = $$x$$                                   | 8   | '$' is not allowed",
        "name = $1                                      | 8   | '$' is not allowed",
        "name$x = 1                                     | 5   | '$' is not allowed",
        "lower(name) = 'x'                              | 1   | function calls such as lower",
        "id + 1 > 2                                     | 4   | '+' is not allowed",
        "id > 1 - 1                                     | 8   | '-' is not allowed",
        "t.id = 1                                       | 2   | '.' is not allowed",
        "name = E'\\x41'                                | 8   | expected a literal after =",
        "name = 'open                                   | 8   | is not closed",
        "\"name = 1                                     | 1   | is not closed",
        "\"\" = 1                                       | 1   | empty quoted column name",
        "x = NULL                                       | 5   | IS NULL or IS NOT NULL",
        "x IN (1, NULL)                                 | 10  | IS NULL or IS NOT NULL",
        "x IS 1                                         | 6   | expected NULL after IS",
        "x = y                                          | 5   | only literals",
        "1 = id                                         | 1   | expected a column name",
        "x                                              | 2   | expected a comparison",
        "x BETWEEN 1 OR 2                               | 13  | expected AND between",
        "x = 12abc                                      | 5   | malformed number",
        "x = 1.                                         | 5   | malformed number",
        "(x = 1                                         | 7   | ')' to close the '(' at position 1",
        "x = 1 y = 2                                    | 7   | unexpected y after a complete condition",
        "x LIKE 'a%'                                    | 3   | expected a comparison",
        "x ! 1                                          | 3   | '!' is not an operator",
        "name = 'a' COLLATE \"C\"                       | 12  | unexpected collate",
    })
    void anythingOutsideTheGrammarIsRejectedWithItsPosition(String text, int position, String problem) {
        assertThatThrownBy(() -> Condition.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("at position " + position + ": ").hasMessageContaining(problem);
    }

    @Test
    void emptyAndBlankConditionsAreRejected() {
        assertThatThrownBy(() -> Condition.parse("  ")).hasMessageContaining("is empty");
    }

    @Test
    void inputIsBoundedInLengthDepthAndListSize() {
        assertThatThrownBy(() -> Condition.parse("x = '" + "a".repeat(Condition.MAX_LENGTH) + "'"))
                .hasMessageContaining("characters long; at most " + Condition.MAX_LENGTH);
        String deep = "(".repeat(Condition.MAX_DEPTH + 1) + "x = 1" + ")".repeat(Condition.MAX_DEPTH + 1);
        assertThatThrownBy(() -> Condition.parse(deep)).hasMessageContaining("nested deeper than");
        String nots = "NOT ".repeat(Condition.MAX_DEPTH + 1) + "x = 1";
        assertThatThrownBy(() -> Condition.parse(nots)).hasMessageContaining("nested deeper than");
        assertThat(Condition.parse("(".repeat(Condition.MAX_DEPTH) + "x = 1" + ")".repeat(Condition.MAX_DEPTH))
                .canonical()).isEqualTo("x = 1");
        String list = "x IN (" + "1,".repeat(Condition.MAX_IN_LIST) + "1)";
        assertThatThrownBy(() -> Condition.parse(list)).hasMessageContaining("IN list has more than");
        assertThat(((Condition.In) Condition.parse("x IN (" + "1,".repeat(Condition.MAX_IN_LIST - 1) + "1)"))
                .values()).hasSize(Condition.MAX_IN_LIST);
    }

    @Test
    void columnNamesThatAreKeywordsPrintQuoted() {
        assertThat(new Column("and", 1).text()).isEqualTo("\"and\"");
        assertThat(new Column("Id", 1).text()).isEqualTo("\"Id\"");
        assertThat(Condition.parse(new Or(List.of(Condition.parse("\"or\" = 1"), Condition.parse("b = 2")))
                .canonical()).canonical()).isEqualTo("\"or\" = 1 OR b = 2");
    }
}
