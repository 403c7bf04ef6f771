package io.deltaforge.runner.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.Lsn;
import io.deltaforge.api.PipelineState;
import io.deltaforge.api.PipelineStatus;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressReporterTest {
    @Test
    void eachLineGivesCountsRatesSinceTheLastLineAndTheCheckpoint() {
        OpsServerTest.StatusPipeline p = new OpsServerTest.StatusPipeline("users");
        AtomicLong clock = new AtomicLong();
        ProgressReporter reporter = new ProgressReporter(List.of(p), clock::get);
        try {
            assertThat(reporter.lines()).containsExactly(
                    "pipeline 'users' NEW: 0 events received (0.0/s), 0 delivered (0.0/s), checkpoint none yet");

            clock.addAndGet(TimeUnit.SECONDS.toNanos(10));
            p.status = new PipelineStatus("users", PipelineState.RUNNING, new Lsn(0x16B3748), 500, 300, null);

            assertThat(reporter.lines()).containsExactly("pipeline 'users' RUNNING: 500 events received (50.0/s), "
                    + "300 delivered (30.0/s), checkpoint " + new Lsn(0x16B3748));
        } finally {
            reporter.close();
        }
    }
}
