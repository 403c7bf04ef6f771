package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ConfigException;
import io.deltaforge.postgres.internal.Dsn.Endpoint;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Several hosts in each DSN form, and libpq's target_session_attrs mapped onto pgjdbc's targetServerType. */
class MultiHostDsnTest {
    @Test
    void urlWithSeveralHostsKeepsTheirOrderAndPorts() {
        Dsn d = Dsn.parse("postgresql://app:s3cret@pg-a:5432,pg-b:5433,[::1]/orders?target_session_attrs=read-write");
        assertThat(d.hosts()).containsExactly(new Endpoint("pg-a", 5432), new Endpoint("pg-b", 5433),
                new Endpoint("::1", 5432));
        assertThat(d.multiHost()).isTrue();
        assertThat(d.database()).isEqualTo("orders");
        assertThat(d.password()).isEqualTo("s3cret");
        assertThat(d.jdbcUrl()).isEqualTo("jdbc:postgresql://pg-a:5432,pg-b:5433,[::1]:5432/orders");
        assertThat(d.properties()).containsEntry("targetServerType", "primary")
                .containsEntry("hostRecheckSeconds", "2");
        assertThat(d.describe()).isEqualTo("app@pg-a:5432,pg-b:5433,[::1]:5432/orders").doesNotContain("s3cret");
    }

    @Test
    void keywordFormTakesOnePortPerHostOrOneForAll() {
        Dsn perHost = Dsn.parse("host=pg-a,pg-b port=5432,6432 dbname=app user=me target_session_attrs=primary");
        assertThat(perHost.hosts()).containsExactly(new Endpoint("pg-a", 5432), new Endpoint("pg-b", 6432));
        assertThat(perHost.params()).containsEntry("targetServerType", "primary");

        Dsn shared = Dsn.parse("host=pg-a,pg-b port=6432 dbname=app user=me");
        assertThat(shared.hosts()).containsExactly(new Endpoint("pg-a", 6432), new Endpoint("pg-b", 6432));
    }

    @Test
    void jdbcUrlWithSeveralHosts() {
        Dsn d = Dsn.parse("jdbc:postgresql://pg-a:5432,pg-b:5432/app?user=me&targetServerType=primary");
        assertThat(d.hosts()).extracting(Endpoint::host).containsExactly("pg-a", "pg-b");
        assertThat(d.properties()).containsEntry("targetServerType", "primary");
    }

    @Test
    void severalHostsDefaultToThePrimary() {
        assertThat(Dsn.parse("postgres://me@pg-a,pg-b/app").properties()).containsEntry("targetServerType", "primary");
    }

    @Test
    void oneHostKeepsPgjdbcDefaults() {
        Dsn d = Dsn.parse("postgres://me@pg-a/app");
        assertThat(d.multiHost()).isFalse();
        assertThat(d.properties()).doesNotContainKeys("targetServerType", "hostRecheckSeconds");
    }

    @ParameterizedTest
    @CsvSource({"any,any", "read-write,primary", "primary,primary", "read-only,secondary", "standby,secondary",
            "prefer-standby,preferSecondary"})
    void targetSessionAttrsBecomeTargetServerType(String libpq, String pgjdbc) {
        assertThat(Dsn.parse("host=pg-a user=me target_session_attrs=" + libpq).params())
                .containsEntry("targetServerType", pgjdbc).doesNotContainKey("target_session_attrs");
    }

    @ParameterizedTest
    @ValueSource(strings = {"standby", "read-only", "prefer-standby"})
    void severalHostsRefuseAStandbyTarget(String attrs) {
        assertThatThrownBy(() -> Dsn.parse("postgres://me@pg-a,pg-b/app?target_session_attrs=" + attrs))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("dsn: with several hosts the source follows the primary")
                .hasMessageContaining("target_session_attrs=read-write");
    }

    @Test
    void rejectsAnUnknownTargetSessionAttrs() {
        assertThatThrownBy(() -> Dsn.parse("host=pg-a user=me target_session_attrs=writable"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("target_session_attrs 'writable' is not valid; expected one of any, read-write");
    }

    @Test
    void rejectsAPortCountThatMatchesNeitherOneNorEveryHost() {
        assertThatThrownBy(() -> Dsn.parse("host=a,b,c port=1,2 user=me"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("dsn: 3 hosts but 2 ports; give one port for all hosts or one per host");
    }

    @ParameterizedTest
    @ValueSource(strings = {"postgres://me@pg-a,,pg-b/app", "postgres://me@pg-a,/app", "host=a,,b user=me"})
    void rejectsAnEmptyHostInTheList(String dsn) {
        assertThatThrownBy(() -> Dsn.parse(dsn))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("dsn: an empty host in the host list");
    }

    @Test
    void aBadPortInTheListNamesIt() {
        assertThatThrownBy(() -> Dsn.parse("postgres://me:pw@pg-a:5432,pg-b:x1/app"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("dsn: port 'x1' is not a number");
    }

    @Test
    void oneOfTheHostsStandsAloneWithoutARoleRequirement() {
        Dsn d = Dsn.parse("postgres://me:pw@pg-a,pg-b:6432/app?sslmode=require");
        Dsn b = d.only(d.hosts().get(1));
        assertThat(b.hosts()).containsExactly(new Endpoint("pg-b", 6432));
        assertThat(b.properties()).containsEntry("sslmode", "require").containsEntry("password", "pw")
                .doesNotContainKeys("targetServerType", "hostRecheckSeconds");
        assertThat(List.of(b.database(), b.user())).containsExactly("app", "me");
    }
}
