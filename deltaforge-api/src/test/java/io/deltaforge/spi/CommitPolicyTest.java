package io.deltaforge.spi;

import static io.deltaforge.spi.SinkOutcome.State.DELIVERED;
import static io.deltaforge.spi.SinkOutcome.State.FAILED;
import static io.deltaforge.spi.SinkOutcome.State.PENDING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class CommitPolicyTest {
    private static SinkOutcome req(SinkOutcome.State s) {
        return new SinkOutcome("r", true, s);
    }

    private static SinkOutcome opt(SinkOutcome.State s) {
        return new SinkOutcome("o", false, s);
    }

    @Test
    void requiredWaitsOnlyForRequiredSinks() {
        assertThat(CommitPolicy.required().isSatisfied(List.of(req(DELIVERED), opt(PENDING)))).isTrue();
        assertThat(CommitPolicy.required().isSatisfied(List.of(req(PENDING), opt(DELIVERED)))).isFalse();
        assertThat(CommitPolicy.required().isSatisfied(List.of(req(DELIVERED), opt(FAILED)))).isTrue();
    }

    @Test
    void allWaitsForEverySink() {
        assertThat(CommitPolicy.all().isSatisfied(List.of(req(DELIVERED), opt(PENDING)))).isFalse();
        assertThat(CommitPolicy.all().isSatisfied(List.of(req(DELIVERED), opt(FAILED)))).isFalse();
        assertThat(CommitPolicy.all().isSatisfied(List.of(req(DELIVERED), opt(DELIVERED)))).isTrue();
    }

    @Test
    void quorumCountsDeliveriesButNeverSkipsARequiredSink() {
        CommitPolicy two = CommitPolicy.quorum(2);
        assertThat(two.isSatisfied(List.of(opt(DELIVERED), opt(DELIVERED), opt(PENDING)))).isTrue();
        assertThat(two.isSatisfied(List.of(opt(DELIVERED), opt(FAILED), opt(PENDING)))).isFalse();
        assertThat(two.isSatisfied(List.of(req(PENDING), opt(DELIVERED), opt(DELIVERED)))).isFalse();
        assertThatThrownBy(() -> CommitPolicy.quorum(0)).hasMessageContaining("at least 1");
    }

    @Test
    void combinatorsCompose() {
        CommitPolicy never = o -> false;
        CommitPolicy always = o -> true;
        assertThat(never.or(always).isSatisfied(List.of())).isTrue();
        assertThat(always.and(never).isSatisfied(List.of())).isFalse();
    }
}
