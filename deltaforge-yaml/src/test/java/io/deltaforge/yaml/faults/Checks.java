package io.deltaforge.yaml.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
        for (Map.Entry<Change, Integer> e : committed.entrySet()) {
            if (e.getValue() < maxTx) {
                assertThat(seen).as("%s: %s (tx %d) is missing although tx %d is stored", what, e.getKey(),
                        e.getValue(), maxTx).contains(e.getKey());
            }
        }
    }

    /** The stream holds every committed change exactly once, in commit order per table. */
    static void exactlyOnce(List<StreamReader.Stored> stored, LinkedHashMap<Change, Integer> committed) {
        prefixOf(stored, committed, "final");
        assertThat(stored).hasSize(committed.size());
        assertThat(stored.stream().map(StreamReader.Stored::change).toList())
                .containsExactlyInAnyOrderElementsOf(committed.keySet());
    }
}
