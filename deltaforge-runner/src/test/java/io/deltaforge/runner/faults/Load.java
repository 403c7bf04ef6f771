package io.deltaforge.runner.faults;

import io.deltaforge.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.StringJoiner;
import java.util.TreeMap;

/**
 * A sustained, seeded write load on tables {@code (id int primary key, v int not null, note text)} with
 * REPLICA IDENTITY FULL: small transactions of inserts, updates and deletes, some as multi-row statements,
 * some over two tables. It records each committed change with the index of its transaction, in commit
 * order (one writer thread, so commit order is the order of that index).
 *
 * <p>Not thread-safe except for {@link #committed()} and {@link #stop()}.
 */
final class Load implements Runnable {
    private final PostgresServer pg;
    private final List<String> tables;
    private final Random random;
    private final long pauseMillis;
    /** Committed changes, each with its transaction's index; guarded by itself. */
    private final LinkedHashMap<Change, Integer> committed = new LinkedHashMap<>();
    private final Map<String, Map<Integer, Integer>> live = new HashMap<>();
    private final Map<String, Integer> nextId = new HashMap<>();
    private volatile boolean stopping;
    private volatile @org.jspecify.annotations.Nullable Throwable failure;
    private int transactions;
    private int stripe;
    private @org.jspecify.annotations.Nullable Thread thread;

    Load(PostgresServer pg, List<String> tables, long seed, long pauseMillis) {
        this.pg = pg;
        this.tables = List.copyOf(tables);
        this.random = new Random(seed);
        this.pauseMillis = pauseMillis;
        for (String t : tables) {
            live.put(t, new LinkedHashMap<>());
            nextId.put(t, 1);
        }
    }

    static void createTables(PostgresServer pg, List<String> tables, String publication) {
        StringBuilder sql = new StringBuilder();
        for (String t : tables) {
            sql.append("CREATE TABLE ").append(t).append(" (id int PRIMARY KEY, v int NOT NULL, note text);\n")
                    .append("ALTER TABLE ").append(t).append(" REPLICA IDENTITY FULL;\n");
        }
        sql.append("CREATE PUBLICATION ").append(publication).append(" FOR TABLE ").append(String.join(", ", tables))
                .append(";");
        pg.execute(sql.toString());
    }

    /**
     * Inserts rows {@code 1..rows} with version 1 into {@code table} (one of the load's tables, still empty)
     * before the load starts, so that the load also updates and deletes them. The rows are not recorded as
     * committed changes: they exist before the pipeline's slot and reach a consumer only through a snapshot.
     */
    void prefill(String table, int rows) {
        if (thread != null || !live.containsKey(table) || !live.get(table).isEmpty()) {
            throw new IllegalStateException("prefill " + table + ": not an empty table of a load not yet started");
        }
        pg.execute("INSERT INTO " + table + " (id, v, note) SELECT g, 1, 'p' || g FROM generate_series(1, " + rows
                + ") g");
        Map<Integer, Integer> rowsOf = live.get(table);
        for (int id = 1; id <= rows; id++) {
            rowsOf.put(id, 1);
        }
        nextId.put(table, rows + 1);
    }

    /**
     * From now on, one statement in ten updates one random row in every run of {@code stripe} consecutive
     * keys of a table, under an exclusive lock on the table held for 30 ms more before the commit: snapshot
     * tests call it so that snapshot chunks of about {@code stripe} rows are often read while a change of
     * their own rows is in flight. A chunk query that meets the lock waits for the commit, but reads in a
     * snapshot taken before it, so it returns the old versions: exactly the copies a snapshot must not emit.
     * Call before {@link #start()}; 0 (the default) turns it off.
     */
    void spreadUpdates(int stripe) {
        if (thread != null || stripe < 0) {
            throw new IllegalStateException("spreadUpdates(" + stripe + "): only before start, and not negative");
        }
        this.stripe = stripe;
    }

    void start() {
        Thread t = new Thread(this, "load");
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    /** Stops after the current transaction and waits for the thread; rethrows a load failure. */
    void stop() throws InterruptedException {
        stopping = true;
        if (thread != null) {
            thread.join(30_000);
        }
        Throwable f = failure;
        if (f != null) {
            throw new AssertionError("the load failed", f);
        }
    }

    /** A snapshot: every committed change, in commit order, with its transaction index. */
    LinkedHashMap<Change, Integer> committed() {
        synchronized (committed) {
            return new LinkedHashMap<>(committed);
        }
    }

    int committedCount() {
        synchronized (committed) {
            return committed.size();
        }
    }

    @Override
    public void run() {
        try (Connection c = pg.connect()) {
            c.setAutoCommit(false);
            while (!stopping) {
                runOneTransaction(c);
                if (pauseMillis > 0) {
                    Thread.sleep(pauseMillis);
                }
            }
        } catch (Throwable t) {
            failure = t;
        }
    }

    /** Runs n transactions at once, on the caller's thread. */
    void runTransactions(int n) throws SQLException {
        try (Connection c = pg.connect()) {
            c.setAutoCommit(false);
            for (int i = 0; i < n; i++) {
                runOneTransaction(c);
            }
        }
    }

    /** Locks the table, updates one random row of every run of {@code stripe} consecutive keys, waits. */
    private void spreadUpdate(Statement st, String table, Map<Integer, Integer> rows, List<Change> changes)
            throws SQLException {
        Map<Integer, List<Integer>> byStripe = new TreeMap<>();
        for (int id : rows.keySet()) {
            byStripe.computeIfAbsent(id / stripe, k -> new ArrayList<>()).add(id);
        }
        StringJoiner in = new StringJoiner(", ");
        for (List<Integer> keys : byStripe.values()) {
            int id = keys.get(random.nextInt(keys.size()));
            int v = rows.get(id) + 1;
            rows.put(id, v);
            in.add(Integer.toString(id));
            changes.add(new Change("public." + table, id, v, "u"));
        }
        st.execute("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
        st.executeUpdate("UPDATE " + table + " SET v = v + 1, note = 's' || v WHERE id IN (" + in + ")");
        st.execute("SELECT pg_sleep(0.03)");
    }

    private void runOneTransaction(Connection c) throws SQLException {
        List<Change> changes = new ArrayList<>();
        Map<String, Map<Integer, Integer>> after = new HashMap<>();
        for (String t : tables) {
            after.put(t, new LinkedHashMap<>(live.get(t)));
        }
        Map<String, Integer> ids = new HashMap<>(nextId);
        int statements = 1 + random.nextInt(3);
        try (Statement st = c.createStatement()) {
            for (int s = 0; s < statements; s++) {
                String table = tables.get(random.nextInt(tables.size()));
                Map<Integer, Integer> rows = after.get(table);
                if (stripe > 0 && rows.size() >= 5 && random.nextInt(10) == 0) {
                    spreadUpdate(st, table, rows, changes);
                    continue;
                }
                int kind = random.nextInt(10);
                if (rows.size() < 5 || kind < 3) {
                    int n = kind == 0 ? 1 + random.nextInt(4) : 1; // sometimes a multi-row insert
                    StringJoiner values = new StringJoiner(", ");
                    for (int i = 0; i < n; i++) {
                        int id = ids.merge(table, 1, Integer::sum) - 1;
                        values.add("(" + id + ", 1, 'n" + id + "')");
                        rows.put(id, 1);
                        changes.add(new Change("public." + table, id, 1, "c"));
                    }
                    st.executeUpdate("INSERT INTO " + table + " (id, v, note) VALUES " + values);
                } else if (kind < 8) {
                    List<Integer> keys = new ArrayList<>(rows.keySet());
                    int n = kind == 7 ? Math.min(keys.size(), 2 + random.nextInt(3)) : 1; // multi-row update
                    StringJoiner in = new StringJoiner(", ");
                    for (int i = 0; i < n; i++) {
                        int id = keys.remove(random.nextInt(keys.size()));
                        int v = rows.get(id) + 1;
                        rows.put(id, v);
                        in.add(Integer.toString(id));
                        changes.add(new Change("public." + table, id, v, "u"));
                    }
                    st.executeUpdate("UPDATE " + table + " SET v = v + 1, note = 'u' || v WHERE id IN (" + in + ")");
                } else {
                    List<Integer> keys = new ArrayList<>(rows.keySet());
                    int id = keys.get(random.nextInt(keys.size()));
                    int v = rows.remove(id);
                    changes.add(new Change("public." + table, id, v, "d"));
                    st.executeUpdate("DELETE FROM " + table + " WHERE id = " + id);
                }
            }
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw e;
        }
        // Only what committed counts; the bookkeeping follows the commit.
        live.putAll(after);
        nextId.putAll(ids);
        int tx = ++transactions;
        synchronized (committed) {
            for (Change ch : changes) {
                committed.put(ch, tx);
            }
        }
    }
}
