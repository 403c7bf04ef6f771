package io.deltaforge.yaml.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InterpolatorTest {
    private final Interpolator interpolator = new Interpolator(Map.of("HOST", "db", "EMPTY", "", "DOLLAR", "$")::get);
    private final List<String> errors = new ArrayList<>();

    private String run(String s) {
        return interpolator.interpolate(s, errors);
    }

    @Test
    void replacesVariablesAnywhereInAString() {
        assertThat(run("postgres://${HOST}:5432/${HOST}")).isEqualTo("postgres://db:5432/db");
        assertThat(errors).isEmpty();
    }

    @Test
    void usesTheDefaultWhenUnsetOrEmpty() {
        assertThat(run("${MISSING:-x}|${EMPTY:-y}|${HOST:-z}|${MISSING:-}")).isEqualTo("x|y|db|");
        assertThat(errors).isEmpty();
    }

    @Test
    void anEmptyVariableWithoutDefaultIsEmpty() {
        assertThat(run("[${EMPTY}]")).isEqualTo("[]");
        assertThat(errors).isEmpty();
    }

    @Test
    void doubleDollarBraceIsALiteral() {
        assertThat(run("$${HOST} costs $5 or $$5")).isEqualTo("${HOST} costs $5 or $$5");
        assertThat(errors).isEmpty();
    }

    @Test
    void valuesAreNotInterpolatedAgain() {
        assertThat(new Interpolator(Map.of("A", "${B}")::get).interpolate("${A}", errors)).isEqualTo("${B}");
        assertThat(run("${DOLLAR}{HOST}")).isEqualTo("${HOST}");
    }

    @Test
    void eachUnsetVariableIsAnError() {
        run("${A}-${B:-b}-${C}");

        assertThat(errors).containsExactly(
                "environment variable A is not set; export it or write ${A:-default}",
                "environment variable C is not set; export it or write ${C:-default}");
    }

    @Test
    void malformedReferencesAreErrors() {
        run("${} ${a-b} ${OPEN");

        assertThat(errors).hasSize(3);
        assertThat(errors.get(0)).startsWith("'${}' is not a variable reference");
        assertThat(errors.get(1)).startsWith("'${a-b}' is not a variable reference");
        assertThat(errors.get(2)).startsWith("'${' has no closing '}'");
    }
}
