package io.deltaforge.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PortsTest {

    @Test
    void freePortsAreBindableAndBelowTheEphemeralRange() {
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            int port = Ports.freePort();
            assertThat(port).isBetween(1024, 65535);
            assertThat(Ports.canBind(port)).isTrue();
            seen.add(port);
        }
        // picked at random, so twenty picks are practically never all the same
        assertThat(seen).hasSizeGreaterThan(1);
    }
}
