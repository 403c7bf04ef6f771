package io.deltaforge.examples.idempotent;

import io.deltaforge.consumer.ChangeHandler;
import io.deltaforge.consumer.ChangeMessage;
import io.deltaforge.consumer.ChangeOp;
import io.deltaforge.consumer.DeltaforgeConsumer;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CountDownLatch;

/**
 * Keeps a running total per customer from the {@code orders} inserts a pipeline publishes. Adding to a total is
 * not idempotent, and a message can come twice (a redelivery after a crash between the commit below and the
 * acknowledgement, a replay beyond the stream's duplicate window). So the event id is recorded in
 * {@code processed_events} in the same database transaction as the effect: a second copy finds its id there
 * and changes nothing.
 *
 * <pre>{@code
 * NATS_URL=nats://localhost:4222 JDBC_URL=jdbc:postgresql://localhost/app?user=app&password=... \
 *   mvn -q -pl examples/idempotent-consumer exec:java
 * }</pre>
 */
public final class OrderTotals implements ChangeHandler {
    static final String SCHEMA = """
            CREATE TABLE IF NOT EXISTS processed_events (
                event_id text PRIMARY KEY,
                processed_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE IF NOT EXISTS customer_totals (
                customer text PRIMARY KEY,
                total numeric NOT NULL);
            """;

    private final String jdbcUrl;

    public OrderTotals(String jdbcUrl) {
        this.jdbcUrl = jdbcUrl;
    }

    /** Creates the two tables when missing. */
    public void createTables() throws SQLException {
        try (Connection db = DriverManager.getConnection(jdbcUrl); Statement st = db.createStatement()) {
            st.execute(SCHEMA);
        }
    }

    @Override
    public void handle(ChangeMessage change) throws SQLException {
        if (change.op() != ChangeOp.INSERT || !change.table().equals("orders") || change.after() == null) {
            return;
        }
        try (Connection db = DriverManager.getConnection(jdbcUrl)) {
            db.setAutoCommit(false);
            try {
                if (firstTime(db, change.eventId())) {
                    addToTotal(db, change.after().get("customer").asText(), change.after().get("amount").decimalValue());
                }
                db.commit();   // the id and the effect, together or not at all
            } catch (SQLException | RuntimeException e) {
                db.rollback();
                throw e;
            }
        }
    }

    /** Records the id; false when it was there already (the change was applied before). */
    private static boolean firstTime(Connection db, String eventId) throws SQLException {
        try (PreparedStatement seen = db.prepareStatement(
                "INSERT INTO processed_events (event_id) VALUES (?) ON CONFLICT DO NOTHING")) {
            seen.setString(1, eventId);
            return seen.executeUpdate() == 1;
        }
    }

    private static void addToTotal(Connection db, String customer, BigDecimal amount) throws SQLException {
        try (PreparedStatement add = db.prepareStatement("INSERT INTO customer_totals (customer, total) VALUES (?, ?) "
                + "ON CONFLICT (customer) DO UPDATE SET total = customer_totals.total + EXCLUDED.total")) {
            add.setString(1, customer);
            add.setBigDecimal(2, amount);
            add.executeUpdate();
        }
    }

    public static void main(String[] args) throws Exception {
        OrderTotals totals = new OrderTotals(System.getenv("JDBC_URL"));
        totals.createTables();
        DeltaforgeConsumer consumer = DeltaforgeConsumer.builder().url(System.getenv("NATS_URL")).stream("ORDERS")
                .durable("order-totals").handler(totals).build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            consumer.close();
            stopped.countDown();
        }));
        consumer.start();
        stopped.await();
    }
}
