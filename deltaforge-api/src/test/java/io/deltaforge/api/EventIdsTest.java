package io.deltaforge.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class EventIdsTest {
    @Test
    void sameCoordinatesGiveTheSameIdEveryTime() {
        assertThat(EventIds.forChange("users-postgres", Lsn.parse("0/16B3748"), 3))
                .isEqualTo(EventIds.forChange("users-postgres", Lsn.parse("0/16B3748"), 3))
                // Pinned: changing the derivation would duplicate every replayed event in JetStream.
                .isEqualTo("9d9f9316-4f7b-523f-9cd9-00d8d23040ea");
    }

    @Test
    void idsAreVersion5UuidsAndDifferByEveryCoordinate() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            ids.add(EventIds.forChange("a", new Lsn(100), i));
        }
        ids.add(EventIds.forChange("b", new Lsn(100), 0));
        ids.add(EventIds.forChange("a", new Lsn(101), 0));
        assertThat(ids).hasSize(1002);
        UUID u = UUID.fromString(EventIds.forChange("a", new Lsn(100), 0));
        assertThat(u.version()).isEqualTo(5);
        assertThat(u.variant()).isEqualTo(2);
    }

    @Test
    void snapshotIdsDependOnTableAndKey() {
        TableId t = TableId.parse("public.users");
        assertThat(EventIds.forSnapshotRow("s1", t, "1")).isNotEqualTo(EventIds.forSnapshotRow("s1", t, "2"));
        assertThat(EventIds.forSnapshotRow("s1", t, "1")).isEqualTo(EventIds.forSnapshotRow("s1", t, "1"));
    }

    @Test
    void lsnRoundTripsItsTextForm() {
        assertThat(Lsn.parse("16/B374D848").toString()).isEqualTo("16/B374D848");
        assertThat(Lsn.parse("0/0")).isEqualTo(Lsn.ZERO);
        assertThat(Lsn.parse("FFFFFFFF/0").isAfter(Lsn.parse("1/0"))).isTrue();
    }
}
