package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.Source;
import io.deltaforge.spi.SourceProvider;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class PostgresSourceProviderTest {
    private static final String PATH = "spec.source.config";

    @Test
    void isFoundByServiceLoaderUnderTypePostgres() {
        assertThat(ServiceLoader.load(SourceProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.type().equals("postgres")).toList()).hasSize(1)
                .first().isInstanceOf(PostgresSourceProvider.class);
    }

    @Test
    void buildsTheSeedConfiguration() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("id", "users-postgres");
        values.put("dsn", "postgres://u:p@db:5432/app");
        values.put("slot", "deltaforge_users");
        values.put("publication", "users_pub");
        values.put("tables", List.of("public.users", "public.profiles", "public.user_sessions"));
        values.put("start_position", "earliest");
        Source source = new PostgresSourceProvider().create(config(values));
        assertThat(source.id()).isEqualTo("users-postgres");
        assertThat(((PostgresSource) source).slot()).isEqualTo("deltaforge_users");
        assertThat(source.toString()).doesNotContain(":p@");
    }

    @Test
    void failoverSlotTakesAutoTrueOrFalseAndDefaultsToAuto() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("dsn", "postgres://u@pg-a,pg-b/app?target_session_attrs=read-write");
        values.put("slot", "s");
        values.put("publication", "p");
        assertThat(((PostgresSource) new PostgresSourceProvider().create(config(values))).settings().failoverSlot())
                .isEqualTo(FailoverSlot.AUTO);
        values.put("failover_slot", true);
        assertThat(((PostgresSource) new PostgresSourceProvider().create(config(values))).settings().failoverSlot())
                .isEqualTo(FailoverSlot.ENABLED);
        values.put("failover_slot", "false");
        assertThat(((PostgresSource) new PostgresSourceProvider().create(config(values))).settings().failoverSlot())
                .isEqualTo(FailoverSlot.DISABLED);
        values.put("failover_slot", "always");
        assertThatThrownBy(() -> new PostgresSourceProvider().create(config(values)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(PATH + ".failover_slot: 'always' is not a failover_slot value; expected auto, "
                        + "true or false");
    }

    @Test
    void reportsEveryProblemAtOnceWithFullPathsAndNoPassword() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("dsn", "postgres://u:Sup3rSecret@db:port/app");
        values.put("slot", "Bad-Slot");
        values.put("tables", List.of("public."));
        values.put("start_position", "newest");
        values.put("status_interval_secs", 0);
        values.put("slott", "x");
        assertThatThrownBy(() -> new PostgresSourceProvider().create(config(values)))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> {
                    List<String> paths = ((ConfigException) e).problems().stream().map(ConfigException.Problem::path)
                            .toList();
                    assertThat(paths).contains(PATH + ".dsn", PATH + ".slot", PATH + ".publication",
                            PATH + ".tables[0]", PATH + ".start_position", PATH + ".status_interval_secs",
                            PATH + ".slott");
                    assertThat(e.getMessage()).doesNotContain("Sup3rSecret")
                            .contains(PATH + ".dsn: port 'port' is not a number");
                });
    }

    @Test
    void bookkeepingSchemaDefaultsToDeltaforgeAndMustBeAnIdentifier() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("dsn", "postgres://u:p@db:5432/app");
        values.put("slot", "s");
        values.put("publication", "p");
        PostgresSource source = (PostgresSource) new PostgresSourceProvider().create(config(values));
        assertThat(source.settings().progressTable()).isEqualTo(new TableId("deltaforge", "deltaforge_snapshot_progress"));
        values.put("bookkeeping_schema", "ops_books");
        source = (PostgresSource) new PostgresSourceProvider().create(config(values));
        assertThat(source.settings().snapshotsTable()).isEqualTo(new TableId("ops_books", "deltaforge_snapshots"));
        values.put("bookkeeping_schema", "ops-books");
        assertThatThrownBy(() -> new PostgresSourceProvider().create(config(values)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(PATH + ".bookkeeping_schema: 'ops-books' is not a usable schema name");
    }

    @Test
    void builderRejectsNullsNamingTheParameter() {
        assertThatThrownBy(() -> PostgresSource.builder().slot(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("slot");
    }

    @Test
    void builderDefaults() {
        PostgresSource s = PostgresSource.builder().dsn("host=h user=u").slot("s").publication("p").build();
        assertThat(s.id()).isEqualTo("postgres");
        assertThat(s.acknowledgedPosition().value()).isZero();
        assertThatThrownBy(() -> PostgresSource.builder().dsn("host=h user=u").slot("s").publication("p")
                .statusInterval(Duration.ZERO).build()).isInstanceOf(ConfigException.class)
                .hasMessageContaining("status_interval");
    }

    @Test
    void readsTheProtocolOptions() {
        Map<String, Object> values = base();
        values.put("start_position", Map.of("lsn", "0/16B3748"));
        values.put("publication_mode", "autocreate");
        values.put("tables", List.of("public.users", "sales.*"));
        values.put("messages", true);
        values.put("toast_placeholder", "__unchanged__");
        values.put("heartbeat_interval_secs", 30);
        PostgresSource s = (PostgresSource) new PostgresSourceProvider().create(config(values));
        assertThat(s.settings().startPosition()).isEqualTo(StartPosition.at(Lsn.parse("0/16B3748")));
        assertThat(s.settings().publicationMode()).isEqualTo(PublicationMode.AUTOCREATE);
        assertThat(s.settings().tables()).extracting(Object::toString).containsExactly("public.users", "sales.*");
        assertThat(s.settings().messages()).isTrue();
        assertThat(s.settings().toastPlaceholder()).isEqualTo("__unchanged__");
        assertThat(s.settings().heartbeatInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.settings().tableFilter().test(new TableId("sales", "orders"))).isTrue();
        assertThat(s.settings().tableFilter().test(new TableId("public", "orders"))).isFalse();
    }

    @Test
    void defaultsLeaveProtocolOptionsOff() {
        PostgresSource s = (PostgresSource) new PostgresSourceProvider().create(config(base()));
        assertThat(s.settings().startPosition()).isEqualTo(StartPosition.EARLIEST);
        assertThat(s.settings().publicationMode()).isEqualTo(PublicationMode.EXISTING);
        assertThat(s.settings().messages()).isFalse();
        assertThat(s.settings().toastPlaceholder()).isNull();
        assertThat(s.settings().heartbeatInterval()).isNull();
        Map<String, Object> latest = base();
        latest.put("start_position", "LATEST");
        assertThat(((PostgresSource) new PostgresSourceProvider().create(config(latest))).settings().startPosition())
                .isEqualTo(StartPosition.LATEST);
    }

    @Test
    void reportsBadProtocolOptions() {
        Map<String, Object> values = base();
        values.put("start_position", Map.of("lsn", "zz", "offset", 1));
        values.put("publication_mode", "sometimes");
        values.put("messages", "yes");
        values.put("heartbeat_interval_secs", -1);
        values.put("toast_placeholder", "");
        assertThatThrownBy(() -> new PostgresSourceProvider().create(config(values)))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).problems()).extracting(ConfigException.Problem::path)
                        .contains(PATH + ".start_position.lsn", PATH + ".start_position.offset",
                                PATH + ".publication_mode", PATH + ".messages", PATH + ".heartbeat_interval_secs",
                                PATH + ".toast_placeholder"))
                .hasMessageContaining("'zz' is not an LSN");
        Map<String, Object> autocreate = base();
        autocreate.put("publication_mode", "autocreate");
        assertThatThrownBy(() -> new PostgresSourceProvider().create(config(autocreate)))
                .hasMessageContaining(PATH + ".publication_mode: autocreate needs the tables");
    }

    @Test
    void startPositionParsesNamesAndLsns() {
        assertThat(StartPosition.parse("earliest")).isEqualTo(StartPosition.EARLIEST);
        assertThat(StartPosition.parse("0/16B3748")).isEqualTo(StartPosition.at(Lsn.parse("0/16B3748")));
        assertThatThrownBy(() -> StartPosition.parse("newest")).hasMessageContaining("expected earliest, latest");
    }

    private static Map<String, Object> base() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("dsn", "postgres://u:p@db:5432/app");
        values.put("slot", "s");
        values.put("publication", "p");
        return values;
    }

    private static ProviderConfig config(Map<String, Object> values) {
        return ProviderConfig.of(PATH, values, new ProviderConfig.PipelineInfo("p", null));
    }

    @Test
    void readsTheSnapshotSectionAndDefaultsToNever() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("dsn", "postgres://u:p@db:5432/app");
        values.put("slot", "s");
        values.put("publication", "p");
        PostgresSource plain = (PostgresSource) new PostgresSourceProvider().create(config(values));
        assertThat(plain.settings().snapshotMode()).isEqualTo(SnapshotMode.NEVER);
        assertThat(plain.settings().snapshotMaxParallelChunks()).isEqualTo(1);
        assertThat(plain.settings().snapshotMaxParallelTables()).isEqualTo(1);
        values.put("snapshot", Map.of("mode", "initial_only", "chunk_size", 500, "max_parallel_chunks", 4,
                "max_parallel_tables", 2));
        PostgresSource snap = (PostgresSource) new PostgresSourceProvider().create(config(values));
        assertThat(snap.settings().snapshotMode()).isEqualTo(SnapshotMode.INITIAL_ONLY);
        assertThat(snap.settings().snapshotChunkSize()).isEqualTo(500);
        assertThat(snap.settings().snapshotMaxParallelChunks()).isEqualTo(4);
        assertThat(snap.settings().snapshotMaxParallelTables()).isEqualTo(2);
    }

    @Test
    void rejectsABadSnapshotSectionNamingEachKey() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("dsn", "postgres://u:p@db:5432/app");
        values.put("slot", "s");
        values.put("publication", "p");
        values.put("snapshot", Map.of("mode", "sometimes", "chunk_size", 0, "chunks", 1, "max_parallel_chunks", 0));
        assertThatThrownBy(() -> new PostgresSourceProvider().create(config(values)))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).problems()).extracting(ConfigException.Problem::path)
                        .contains(PATH + ".snapshot.mode", PATH + ".snapshot.chunk_size", PATH + ".snapshot.chunks",
                                PATH + ".snapshot.max_parallel_chunks"))
                .hasMessageContaining("initial_only");
    }
}
