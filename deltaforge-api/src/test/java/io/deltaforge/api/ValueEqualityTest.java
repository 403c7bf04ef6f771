package io.deltaforge.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Lsn and TableId write out the equality their records would have generated; it must stay by value. */
class ValueEqualityTest {
    @Test
    void lsnsAreEqualByValue() {
        assertThat(new Lsn(0x16B3748L)).isEqualTo(Lsn.parse("0/16B3748")).hasSameHashCodeAs(Lsn.parse("0/16B3748"))
                .isNotEqualTo(new Lsn(0x16B3749L)).isNotEqualTo(null).isNotEqualTo(0x16B3748L);
        assertThat(new Lsn(-1)).isEqualTo(Lsn.parse("FFFFFFFF/FFFFFFFF"));
    }

    @Test
    void tableIdsAreEqualBySchemaAndTable() {
        TableId users = new TableId("public", "users");
        assertThat(users).isEqualTo(TableId.parse("public.users")).hasSameHashCodeAs(TableId.parse("users"))
                .isNotEqualTo(new TableId("users", "public")).isNotEqualTo(new TableId("public", "Users"))
                .isNotEqualTo(new TableId("public.users", "")).isNotEqualTo(null).isNotEqualTo("public.users");
    }
}
