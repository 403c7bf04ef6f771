package io.deltaforge.nats.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KvKeysTest {
    private static final SourcePosition AT = new SourcePosition(new Lsn(1), new Lsn(1), 0, 1, Instant.EPOCH);

    @Test
    void keysAreSchemaTableAndEscapedKeyValuesInKeyOrder() {
        KvKeys keys = KvKeys.of(KvKeys.DEFAULT_TEMPLATE, Map.of());
        ChangeEvent event = event(new TableId("sales", "order lines"), List.of("region", "id"));
        Row row = Row.of(List.of("id", "region", "note"), new BigDecimal("1E+3"), "eu.west/ü*>", "x");
        assertThat(keys.key(event, row)).isEqualTo("sales.order=20lines.eu=2Ewest=2F=C3=BC=2A=3E.1000");
        assertThat(keys.tableFilter(event.table())).isEqualTo("sales.order=20lines.>");
        assertThat(KvKeys.escape("")).isEqualTo("=");
        assertThat(KvKeys.escape("a=b")).isEqualTo("a=3Db");
    }

    @Test
    void configuredKeyColumnsServeTablesWithoutAPrimaryKey() {
        TableId table = new TableId("public", "log");
        KvKeys keys = KvKeys.of("mirror.{table}.{key}", Map.of(table, List.of("seq")));
        assertThat(keys.key(event(table, List.of()), Row.of(List.of("seq"), 5L))).isEqualTo("mirror.log.5");
        assertThatThrownBy(() -> KvKeys.of(KvKeys.DEFAULT_TEMPLATE, Map.of())
                .key(event(table, List.of()), Row.of(List.of("seq"), 5L)))
                .hasMessageContaining("no primary key").hasMessageContaining("key_columns");
    }

    @Test
    void templatesMustEndWithTheKeyAndHoldOnlyKnownPlaceholders() {
        assertThat(KvKeys.problemWithTemplate("{key}.{table}")).contains("must end with the token {key}");
        assertThat(KvKeys.problemWithTemplate("{tabel}.{key}")).contains("unknown placeholder");
        assertThat(KvKeys.problemWithTemplate("a b.{key}")).contains("cannot hold");
        assertThat(KvKeys.problemWithTemplate("rows.{schema}-{table}.{key}")).isEmpty();
    }

    private static ChangeEvent event(TableId table, List<String> keyColumns) {
        return new ChangeEvent("e1", "src", Op.CREATE, table, null, Row.of(List.of("id"), 1L), AT, 0, List.of(),
                null, keyColumns);
    }
}
