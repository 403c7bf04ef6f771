package io.deltaforge.envelopes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ColumnType;
import io.deltaforge.api.ConfigException;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Op;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.envelopes.internal.OutboxEnvelopeProvider;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.ProviderConfig;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class OutboxEnvelopeTest {
    private static final TableId OUTBOX = TableId.parse("public.outbox");
    private static final List<String> COLUMNS = List.of("id", "aggregatetype", "aggregateid", "type", "payload",
            "tenant");

    private static ChangeEvent event(Op op, TableId table, String payloadType, @Nullable Object payload) {
        Row row = Row.of(COLUMNS, "7f1c", "Order Line", 42L, "OrderCreated", payload, null);
        List<ColumnType> types = List.of(new ColumnType("id", "uuid", -1, 'b'),
                new ColumnType("aggregatetype", "text", -1, 'b'), new ColumnType("aggregateid", "int8", -1, 'b'),
                new ColumnType("type", "text", -1, 'b'), new ColumnType("payload", payloadType, -1, 'b'),
                new ColumnType("tenant", "text", -1, 'b'));
        return new ChangeEvent(EventIds.forChange("src", Events.COMMIT, 0), "src", op, table,
                op == Op.CREATE ? null : row, op == Op.DELETE ? null : row,
                new SourcePosition(Events.COMMIT, Events.LSN, 0, 740, Events.COMMITTED), 0, List.of(), null,
                List.of("id"), types, "app");
    }

    @Test
    void anInsertIsPublishedWithItsPayloadAsBodyItsIdAsMessageIdAndTheRestAsHeaders() {
        OutboxEnvelope outbox = OutboxEnvelope.builder().table(OUTBOX).build();
        ChangeEvent insert = event(Op.CREATE, OUTBOX, "jsonb", new RawJson("{\"total\": 5}"));

        Message m = outbox.encode(insert);

        assertThat(outbox.publishes(insert)).isTrue();
        assertThat(m.id()).isEqualTo("7f1c");
        assertThat(new String(m.payload(), StandardCharsets.UTF_8)).isEqualTo("{\"total\": 5}");
        assertThat(m.contentType()).isEqualTo("application/json");
        assertThat(m.subject()).isEqualTo("outbox.event.Order_Line");
        assertThat(m.headers()).containsExactlyInAnyOrderEntriesOf(Map.of("id", "7f1c",
                "aggregatetype", "Order%20Line", "aggregateid", "42", "type", "OrderCreated"));
    }

    @Test
    void updatesDeletesAndOtherTablesAreNotPublished() {
        OutboxEnvelope outbox = OutboxEnvelope.builder().table(OUTBOX).build();
        assertThat(outbox.publishes(event(Op.UPDATE, OUTBOX, "jsonb", null))).isFalse();
        assertThat(outbox.publishes(event(Op.DELETE, OUTBOX, "jsonb", null))).isFalse();
        assertThat(outbox.publishes(event(Op.READ, OUTBOX, "jsonb", null))).isFalse();
        assertThat(outbox.publishes(event(Op.CREATE, TableId.parse("public.orders"), "jsonb", null))).isFalse();
        assertThat(OutboxEnvelope.builder().build().publishes(event(Op.CREATE, TableId.parse("public.orders"),
                "jsonb", null))).as("without a table every table's inserts").isTrue();
        assertThatThrownBy(() -> outbox.encode(event(Op.DELETE, OUTBOX, "jsonb", null)))
                .hasMessageContaining("publishes inserts into public.outbox only");
    }

    @Test
    void byteaIsTheBodysBytesAndTextItsUtf8() {
        OutboxEnvelope outbox = OutboxEnvelope.builder().build();
        Message bytes = outbox.encode(event(Op.CREATE, OUTBOX, "bytea", "3q2+7w=="));
        assertThat(bytes.payload()).containsExactly(0xde, 0xad, 0xbe, 0xef);
        assertThat(bytes.contentType()).isEqualTo("application/octet-stream");

        Message text = outbox.encode(event(Op.CREATE, OUTBOX, "text", "héllo"));
        assertThat(text.payload()).isEqualTo("héllo".getBytes(StandardCharsets.UTF_8));
        assertThat(text.contentType()).isEqualTo("text/plain; charset=utf-8");

        Message none = OutboxEnvelope.builder().contentType("application/vnd.acme+json").build()
                .encode(event(Op.CREATE, OUTBOX, "text", null));
        assertThat(none.payload()).isEmpty();
        assertThat(none.contentType()).isEqualTo("application/vnd.acme+json");
    }

    @Test
    void renamedColumnsAndATemplateWithSeveralPlaceholders() {
        OutboxEnvelope outbox = OutboxEnvelope.builder().aggregateTypeColumn("type").typeColumn("aggregatetype")
                .subject("orders.{aggregatetype}.{type}.{aggregateid}").build();
        assertThat(outbox.encode(event(Op.CREATE, OUTBOX, "jsonb", null)).subject())
                .isEqualTo("orders.OrderCreated.Order_Line.42");
    }

    @Test
    void aMissingIdFailsTheEventNamingTheColumn() {
        OutboxEnvelope outbox = OutboxEnvelope.builder().idColumn("event_id").build();
        assertThatThrownBy(() -> outbox.encode(event(Op.CREATE, OUTBOX, "jsonb", null)))
                .isInstanceOf(DeltaforgeException.class).hasMessageContaining("id column 'event_id'");
    }

    @Test
    void theProviderReadsSnakeCaseKeysAndRejectsABadTemplate() {
        OutboxEnvelopeProvider provider = new OutboxEnvelopeProvider();
        OutboxEnvelope outbox = (OutboxEnvelope) provider.create(config(Map.of("table", "public.outbox",
                "subject", "shop.{type}", "id_column", "aggregateid")));
        Message m = outbox.encode(event(Op.CREATE, OUTBOX, "jsonb", null));
        assertThat(m.subject()).isEqualTo("shop.OrderCreated");
        assertThat(m.id()).isEqualTo("42");

        assertThatThrownBy(() -> provider.create(config(Map.of("subject", "shop.{tenant}"))))
                .isInstanceOf(ConfigException.class).hasMessageContaining("unknown placeholder {tenant}");
        assertThatThrownBy(() -> provider.create(config(Map.of("subject", "shop..{type}"))))
                .isInstanceOf(ConfigException.class).hasMessageContaining("empty or wildcard token");
        assertThatThrownBy(() -> provider.create(config(Map.of("payload_colum", "body"))))
                .isInstanceOf(ConfigException.class).hasMessageContaining("payload_colum");
    }

    private static ProviderConfig config(Map<String, Object> keys) {
        return ProviderConfig.of("envelope", keys, new ProviderConfig.PipelineInfo("p", null));
    }
}
