package io.deltaforge.envelopes.custom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ConfigException;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.EnvelopeProvider;
import io.deltaforge.spi.Message;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.Providers;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UserEnvelopeTest {
    private static final String PATH = "spec.sinks[0].config.envelope";
    private final Providers<EnvelopeProvider> providers =
            Providers.of(EnvelopeProvider.class, getClass().getClassLoader());

    @Test
    void aUserEnvelopeOnTheClassPathIsFoundByItsTypeNameNextToTheBuiltInOnes() {
        assertThat(providers.types()).contains("cloudevents", "debezium", "native", "lines");
        // What the YAML loader does with `envelope: {type: lines, separator: "|"}`.
        Envelope envelope = providers.get("lines", PATH + ".type").create(ProviderConfig.of(PATH,
                Map.of("separator", "|"), new ProviderConfig.PipelineInfo("p", "acme")));
        ChangeEvent event = new ChangeEvent(EventIds.forChange("src", new Lsn(10), 0), "src", Op.CREATE,
                new TableId("public", "users"), null, Row.of(List.of("id"), 1L),
                new SourcePosition(new Lsn(10), new Lsn(9), 0, 5, Instant.EPOCH));
        Message m = envelope.encode(event);
        assertThat(new String(m.payload(), StandardCharsets.UTF_8)).isEqualTo("c|public.users|" + event.id());
        assertThat(m.headers()).containsEntry("x-op", "c");
    }

    @Test
    void anUnknownTypeNameListsTheAvailableEnvelopes() {
        assertThatThrownBy(() -> providers.get("avro", PATH + ".type")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("unknown envelope type 'avro'")
                .hasMessageContaining("cloudevents, debezium, lines, native");
    }
}
