package io.deltaforge.runner.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** The delivery guarantees, checked on what a stream holds against what the source committed. */
final class Checks {
    private Checks() {
    }

    /**
     * What is stored is a gap-free, duplicate-free prefix of the committed changes, in commit order per
     * table, with unique ids equal to their Nats-Msg-Id. {@code committed} must be read after the stream.
     */
    static void prefixOf(List<StreamReader.Stored> stored, LinkedHashMap<Change, Integer> committed, String what) {
        Set<String> ids = new HashSet<>();
        Set<Change> seen = new HashSet<>();
        Map<String, Integer> lastTxPerTable = new HashMap<>();
        int maxTx = 0;
        for (StreamReader.Stored s : stored) {
            assertThat(s.msgId()).as("%s: Nats-Msg-Id of %s", what, s).isEqualTo(s.eventId());
            assertThat(ids.add(s.eventId())).as("%s: id %s stored twice (%s)", what, s.eventId(), s).isTrue();
            assertThat(seen.add(s.change())).as("%s: change %s stored twice", what, s.change()).isTrue();
            Integer tx = committed.get(s.change());
            assertThat(tx).as("%s: %s was stored but never committed", what, s.change()).isNotNull();
            int previous = lastTxPerTable.getOrDefault(s.change().table(), 0);
            assertThat(tx).as("%s: %s (tx %d) stored after a change of tx %d of the same table", what, s.change(),
                    tx, previous).isGreaterThanOrEqualTo(previous);
            lastTxPerTable.put(s.change().table(), tx);
            maxTx = Math.max(maxTx, tx);
        }
        // A lookup per change, not AssertJ's contains (a scan each): streams here hold tens of thousands.
        for (Map.Entry<Change, Integer> e : committed.entrySet()) {
            if (e.getValue() < maxTx && !seen.contains(e.getKey())) {
                assertThat(seen).as("%s: %s (tx %d) is missing although tx %d is stored", what, e.getKey(),
                        e.getValue(), maxTx).contains(e.getKey());
            }
        }
    }

    /**
     * Every stored message has a unique id equal to its Nats-Msg-Id, and each row (table and key) has at most
     * one snapshot read (op {@code r}).
     */
    static void uniqueWithOneReadPerRow(List<StreamReader.Stored> stored, String what) {
        Set<String> ids = new HashSet<>();
        Set<String> read = new HashSet<>();
        for (StreamReader.Stored s : stored) {
            assertThat(s.msgId()).as("%s: Nats-Msg-Id of %s", what, s).isEqualTo(s.eventId());
            assertThat(ids.add(s.eventId())).as("%s: id %s stored twice (%s)", what, s.eventId(), s).isTrue();
            if (s.change().op().equals("r")) {
                assertThat(read.add(s.change().table() + "#" + s.change().id()))
                        .as("%s: a second snapshot read of the row of %s", what, s).isTrue();
            }
        }
    }

    /** The streamed changes only: every stored message except snapshot reads (op {@code r}). */
    static List<StreamReader.Stored> changes(List<StreamReader.Stored> stored) {
        return stored.stream().filter(s -> !s.change().op().equals("r")).toList();
    }

    /**
     * Applying the stored messages in stream order (a snapshot read, insert or update sets the row's version,
     * a delete removes the row) gives exactly {@code tables}: table name (as in {@link Change#table()}) to
     * key to version. Also, no snapshot read is older than what the stream said of its row before it (an
     * older version, or a row deleted before), even when a later change hides it in the end.
     */
    static void replaysTo(List<StreamReader.Stored> stored, Map<String, Map<Integer, Integer>> tables) {
        Map<String, Map<Integer, Integer>> replayed = new HashMap<>();
        for (String t : tables.keySet()) {
            replayed.put(t, new HashMap<>());
        }
        Set<String> deleted = new HashSet<>();
        List<String> backwards = new ArrayList<>();
        for (StreamReader.Stored s : stored) {
            Change c = s.change();
            Map<Integer, Integer> rows = replayed.computeIfAbsent(c.table(), t -> new HashMap<>());
            if (c.op().equals("r")) {
                Integer before = rows.get(c.id());
                if (deleted.contains(c.table() + "#" + c.id())) {
                    backwards.add(s + " after the row's delete");
                } else if (before != null && before > c.version()) {
                    backwards.add(s + " after v" + before);
                }
            }
            if (c.op().equals("d")) {
                rows.remove(c.id());
                deleted.add(c.table() + "#" + c.id()); // the load never reuses a key
            } else {
                rows.put(c.id(), c.version());
            }
        }
        assertThat(backwards).as("%d snapshot reads older than the stream before them, the first: %s",
                backwards.size(), backwards.stream().limit(10).toList()).isEmpty();
        for (Map.Entry<String, Map<Integer, Integer>> e : tables.entrySet()) {
            Map<Integer, Integer> got = replayed.get(e.getKey());
            Set<Integer> missing = new TreeSet<>(e.getValue().keySet());
            missing.removeAll(got.keySet());
            Set<Integer> extra = new TreeSet<>(got.keySet());
            extra.removeAll(e.getValue().keySet());
            Map<Integer, String> stale = new TreeMap<>();
            for (Map.Entry<Integer, Integer> row : e.getValue().entrySet()) {
                Integer v = got.get(row.getKey());
                if (v != null && !v.equals(row.getValue())) {
                    stale.put(row.getKey(), "v" + v + " instead of v" + row.getValue());
                }
            }
            assertThat(missing).as("%s: %d rows of the table missing from the replayed stream, the first: %s",
                    e.getKey(), missing.size(), first(missing)).isEmpty();
            assertThat(extra).as("%s: %d rows in the replayed stream but not in the table, the first: %s",
                    e.getKey(), extra.size(), first(extra)).isEmpty();
            assertThat(stale).as("%s: %d rows whose replayed version is not the table's, the first: %s",
                    e.getKey(), stale.size(), first(stale.entrySet())).isEmpty();
        }
        assertThat(replayed.keySet()).as("tables in the stream").isEqualTo(tables.keySet());
    }

    private static List<?> first(Set<?> set) {
        return set.stream().limit(10).toList();
    }

    /** The stream holds every committed change exactly once, in commit order per table. */
    static void exactlyOnce(List<StreamReader.Stored> stored, LinkedHashMap<Change, Integer> committed) {
        prefixOf(stored, committed, "final");
        assertThat(stored).hasSize(committed.size());
        // prefixOf found each change at most once, so equal sets mean exactly once each (and hashing is linear).
        Set<Change> changes = new HashSet<>();
        stored.forEach(s -> changes.add(s.change()));
        assertThat(changes.equals(committed.keySet())).as("the stored changes are the committed ones").isTrue();
    }

    /**
     * The stream holds every committed change exactly once (unique ids equal to their Nats-Msg-Id), in any
     * order; returns how many stored changes came after a change of a later transaction of the same table.
     */
    static int exactlyOnceInAnyOrder(List<StreamReader.Stored> stored, LinkedHashMap<Change, Integer> committed) {
        Set<String> ids = new HashSet<>();
        Set<Change> changes = new HashSet<>();
        Map<String, Integer> lastTxPerTable = new HashMap<>();
        int inversions = 0;
        for (StreamReader.Stored s : stored) {
            assertThat(s.msgId()).as("Nats-Msg-Id of %s", s).isEqualTo(s.eventId());
            assertThat(ids.add(s.eventId())).as("id %s stored twice (%s)", s.eventId(), s).isTrue();
            assertThat(changes.add(s.change())).as("change %s stored twice", s.change()).isTrue();
            Integer tx = committed.get(s.change());
            assertThat(tx).as("%s was stored but never committed", s.change()).isNotNull();
            int previous = lastTxPerTable.getOrDefault(s.change().table(), 0);
            if (tx < previous) {
                inversions++;
            }
            lastTxPerTable.put(s.change().table(), Math.max(previous, tx));
        }
        Set<Change> missing = new HashSet<>(committed.keySet());
        missing.removeAll(changes);
        assertThat(missing).as("%d committed changes missing, e.g. %s", missing.size(),
                missing.stream().limit(10).toList()).isEmpty();
        return inversions;
    }
}
