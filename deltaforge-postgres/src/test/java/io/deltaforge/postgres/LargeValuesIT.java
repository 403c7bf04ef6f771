package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Op;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.testkit.PostgresServer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Values of several megabytes (stored out of line, TOAST) through the replication stream: decoded whole and
 * exact, left out as unchanged when an update does not touch them, and whole again in a REPLICA IDENTITY FULL
 * delete. PostgreSQL's own limit (1 GB a value) is impractical in a test; the decoder's bound is the message.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LargeValuesIT {
    /** 200,000 md5 hex strings: 6.4 MB of text that does not compress away. */
    private static final String BODY = "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 200000) g)";
    /** 3.2 MB of bytea. */
    private static final String BLOB = "(SELECT decode(string_agg(md5(g::text), ''), 'hex') FROM generate_series(1, "
            + "200000) g)";
    private static PostgresServer pg;

    @BeforeAll
    static void startServer() {
        pg = PostgresServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void multiMegabyteTextAndByteaArriveWholeAndExact() throws Exception {
        pg.execute("CREATE TABLE big (id int PRIMARY KEY, n int, body text, blob bytea);"
                + "ALTER TABLE big REPLICA IDENTITY FULL; CREATE PUBLICATION big_pub FOR TABLE big");
        try (PostgresSource source = PostgresSource.builder().id("big").dsn(pg.dsn()).slot("big_slot")
                .publication("big_pub").statusInterval(Duration.ofSeconds(1)).build()) {
            source.start();
            pg.execute("INSERT INTO big VALUES (1, 0, " + BODY + ", " + BLOB + ")");
            String bodyMd5 = pg.queryString("SELECT md5(body) FROM big");
            String blobMd5 = pg.queryString("SELECT md5(blob) FROM big");
            pg.execute("UPDATE big SET n = 1");
            pg.execute("DELETE FROM big");

            List<ChangeEvent> events = pollEvents(source, 3);
            ChangeEvent insert = events.get(0);
            assertThat(insert.op()).isEqualTo(Op.CREATE);
            String body = (String) insert.after().get("body");
            assertThat(body).hasSize(6_400_000);
            assertThat(md5(body.getBytes(StandardCharsets.UTF_8))).isEqualTo(bodyMd5);
            byte[] blob = Base64.getDecoder().decode((String) insert.after().get("blob"));
            assertThat(blob).hasSize(3_200_000);
            assertThat(md5(blob)).isEqualTo(blobMd5);

            ChangeEvent update = events.get(1);
            assertThat(update.unchangedColumns()).containsExactlyInAnyOrder("body", "blob");
            assertThat(update.after().columns()).containsExactly("id", "n");

            ChangeEvent delete = events.get(2);
            assertThat(delete.op()).isEqualTo(Op.DELETE);
            assertThat(md5(((String) delete.before().get("body")).getBytes(StandardCharsets.UTF_8))).isEqualTo(bodyMd5);
        }
    }

    private static List<ChangeEvent> pollEvents(PostgresSource source, int count) throws InterruptedException {
        List<ChangeEvent> out = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (out.size() < count) {
            assertThat(System.nanoTime()).as("waiting for %d events, got %d", count, out.size()).isLessThan(deadline);
            SourceRecord r = source.poll(Duration.ofMillis(200));
            if (r instanceof ChangeEvent e) {
                out.add(e);
            }
        }
        return out;
    }

    private static String md5(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(bytes));
    }
}
