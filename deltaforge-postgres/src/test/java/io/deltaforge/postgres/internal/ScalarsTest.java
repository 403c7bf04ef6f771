package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

class ScalarsTest {

    @Test
    void moneyInTheCLocaleBecomesItsExactAmount() {
        assertThat(Scalars.money("$1,234.56")).isEqualTo(new BigDecimal("1234.56"));
        assertThat(Scalars.money("-$1,234,567.89")).isEqualTo(new BigDecimal("-1234567.89"));
        assertThat(Scalars.money("$0.00")).isEqualTo(new BigDecimal("0.00"));
        assertThat(Scalars.money("-$92,233,720,368,547,758.08")).isEqualTo(new BigDecimal("-92233720368547758.08"));
        assertThat(Scalars.money("$12")).isEqualTo(new BigDecimal("12"));
    }

    @Test
    void moneyInOtherLocalesIsRefusedRatherThanGuessed() {
        assertThatThrownBy(() -> Scalars.money("1.234,56 €")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Scalars.money("$1,23.45")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Scalars.money("($1.00)")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Scalars.money("$1.")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void byteaReadsHexAndEscapeOutput() {
        assertThat(Scalars.bytea("\\xdeadbeef")).isEqualTo("3q2+7w==");
        assertThat(Scalars.bytea("\\x")).isEqualTo("");
        assertThat(Scalars.byteaBytes("a\\000\\\\\\377")).containsExactly('a', 0, '\\', 0xff);
        assertThatThrownBy(() -> Scalars.bytea("\\xabc")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void specialFloatsAndNumericsStayStrings() {
        assertThat(Scalars.floating("NaN")).isEqualTo("NaN");
        assertThat(Scalars.floating("-Infinity")).isEqualTo("-Infinity");
        assertThat(Scalars.floating("-0")).isEqualTo(-0.0d);
        assertThat(Scalars.numeric("Infinity")).isEqualTo("Infinity");
        BigDecimal tiny = (BigDecimal) Scalars.numeric("0." + "0".repeat(999) + "1");
        assertThat(tiny.compareTo(new BigDecimal("1e-1000"))).isZero();
    }
}
