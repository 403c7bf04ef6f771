package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.deltaforge.testkit.PostgresServer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class WalLevelIT {
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void startExplainsHowToEnableLogicalWalLevel() {
        try (PostgresServer pg = PostgresServer.start()) {
            pg.execute("ALTER SYSTEM SET wal_level = replica");
            pg.restart();
            try (PostgresSource source = PostgresSource.builder().id("wal").dsn(pg.dsn()).slot("wal_slot")
                    .publication("wal_pub").build()) {
                assertThatThrownBy(source::start)
                        .isInstanceOf(DeltaforgeException.class)
                        .isNotInstanceOf(RetryableException.class)
                        .hasMessageContaining("wal_level is 'replica'")
                        .hasMessageContaining("ALTER SYSTEM SET wal_level = logical")
                        .hasMessageContaining("restart PostgreSQL");
            }
        }
    }
}
