package io.deltaforge.examples.benchmark;

import io.deltaforge.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The soak's write load: single-row INSERT transactions (autocommit) into {@link #TABLE} from a few
 * connections, paced to a total rate. Each row's id comes from an identity column, so every row is
 * countable downstream. While PostgreSQL is down the inserts fail: a writer then reconnects and goes on
 * from the current time (no burst to make up the missed ones); only acknowledged commits are counted.
 */
final class SoakLoad {
    static final String TABLE = "soak_rows";
    static final String PUBLICATION = "soak_pub";
    private static final String INSERT = "INSERT INTO " + TABLE + " (writer, note) VALUES (?, ?)";
    /** About the size of a small business row. */
    private static final String NOTE = "x".repeat(100);
    private static final long RECONNECT_PAUSE_MS = 200;

    private final PostgresServer pg;
    private final int rate;
    private final int writers;
    private final AtomicLong committed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicReference<String> lastError = new AtomicReference<>("");
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stopping;

    SoakLoad(PostgresServer pg, int rate, int writers) {
        this.pg = pg;
        this.rate = rate;
        this.writers = writers;
    }

    static void createTable(PostgresServer pg) {
        pg.execute("CREATE TABLE " + TABLE + " (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                + " writer int NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp(), note text NOT NULL);"
                + " CREATE PUBLICATION " + PUBLICATION + " FOR TABLE " + TABLE);
    }

    void start() {
        for (int w = 0; w < writers; w++) {
            int writer = w;
            Thread t = new Thread(() -> write(writer), "soak-writer-" + w);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    /** Stops after each writer's current insert and waits for them. */
    void stop() throws InterruptedException {
        stopping = true;
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(30));
        }
    }

    /** Transactions whose commit was acknowledged. */
    long committed() {
        return committed.get();
    }

    /** Inserts that failed (PostgreSQL down or going down); the table tells whether a few of them committed. */
    long failed() {
        return failed.get();
    }

    String lastError() {
        return lastError.get();
    }

    private void write(int writer) {
        long period = TimeUnit.SECONDS.toNanos(writers) / rate;
        long next = System.nanoTime();
        Connection c = null;
        PreparedStatement insert = null;
        while (!stopping) {
            long now = System.nanoTime();
            if (next > now) {
                LockSupport.parkNanos(next - now);
                continue;
            }
            // Behind by more than a second means an outage: keep the pace from now, without a burst.
            next = now - next > TimeUnit.SECONDS.toNanos(1) ? now + period : next + period;
            try {
                if (c == null) {
                    c = pg.connect();
                    insert = c.prepareStatement(INSERT);
                }
                insert.setInt(1, writer);
                insert.setString(2, NOTE);
                insert.executeUpdate();
                committed.incrementAndGet();
            } catch (SQLException e) {
                failed.incrementAndGet();
                lastError.set(e.getMessage());
                closeQuietly(c);
                c = null;
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(RECONNECT_PAUSE_MS));
            }
        }
        closeQuietly(c);
    }

    private static void closeQuietly(Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (SQLException ignored) {
            // The server is gone; nothing to release.
        }
    }
}
