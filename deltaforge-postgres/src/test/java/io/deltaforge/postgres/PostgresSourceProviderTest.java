package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ConfigException;
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

    private static ProviderConfig config(Map<String, Object> values) {
        return ProviderConfig.of(PATH, values, new ProviderConfig.PipelineInfo("p", null));
    }
}
