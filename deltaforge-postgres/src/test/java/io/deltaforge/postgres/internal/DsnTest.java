package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ConfigException;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DsnTest {
    @Test
    void parsesPostgresUrlWithEveryPart() {
        Dsn d = Dsn.parse("postgres://alice:s3cret@db.example.com:6543/app?sslmode=require&application_name=df");
        assertThat(d.host()).isEqualTo("db.example.com");
        assertThat(d.port()).isEqualTo(6543);
        assertThat(d.database()).isEqualTo("app");
        assertThat(d.user()).isEqualTo("alice");
        assertThat(d.password()).isEqualTo("s3cret");
        assertThat(d.params()).isEqualTo(Map.of("sslmode", "require", "ApplicationName", "df"));
        assertThat(d.jdbcUrl()).isEqualTo("jdbc:postgresql://db.example.com:6543/app");
        assertThat(d.properties()).containsEntry("user", "alice").containsEntry("password", "s3cret")
                .containsEntry("sslmode", "require");
    }

    @Test
    void parsesPostgresqlSchemeWithDefaultPortAndDatabase() {
        Dsn d = Dsn.parse("postgresql://bob@localhost");
        assertThat(d.port()).isEqualTo(5432);
        assertThat(d.database()).isEqualTo("bob");
        assertThat(d.password()).isNull();
    }

    @Test
    void percentDecodesUserAndPassword() {
        Dsn d = Dsn.parse("postgres://us%40er:p%40ss%2Fw%3Ard%25+x@127.0.0.1:5432/db");
        assertThat(d.user()).isEqualTo("us@er");
        assertThat(d.password()).isEqualTo("p@ss/w:rd%+x");
    }

    @Test
    void parsesIpv6Host() {
        Dsn d = Dsn.parse("postgres://u:p@[::1]:5433/db");
        assertThat(d.host()).isEqualTo("::1");
        assertThat(d.port()).isEqualTo(5433);
        assertThat(d.jdbcUrl()).isEqualTo("jdbc:postgresql://[::1]:5433/db");
    }

    @Test
    void parsesLibpqKeywordValueWithQuotes() {
        Dsn d = Dsn.parse("host=pg.local port = 5544 dbname=app user=me password='it\\'s \\'quoted\\' w x' "
                + "sslmode=verify-full connect_timeout=7");
        assertThat(d.host()).isEqualTo("pg.local");
        assertThat(d.port()).isEqualTo(5544);
        assertThat(d.database()).isEqualTo("app");
        assertThat(d.user()).isEqualTo("me");
        assertThat(d.password()).isEqualTo("it's 'quoted' w x");
        assertThat(d.params()).containsEntry("sslmode", "verify-full").containsEntry("connectTimeout", "7");
    }

    @Test
    void parsesJdbcUrlWithCredentialsInQuery() {
        Dsn d = Dsn.parse("jdbc:postgresql://10.0.0.5:5432/orders?user=svc&password=p%26w&sslmode=disable");
        assertThat(d.host()).isEqualTo("10.0.0.5");
        assertThat(d.database()).isEqualTo("orders");
        assertThat(d.user()).isEqualTo("svc");
        assertThat(d.password()).isEqualTo("p&w");
        assertThat(d.params()).isEqualTo(Map.of("sslmode", "disable"));
    }

    @Test
    void rejectsNonNumericPortNamingTheField() {
        assertThatThrownBy(() -> Dsn.parse("postgres://u:pw@host:abc/db"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("dsn: port 'abc' is not a number; expected");
    }

    @Test
    void neverEchoesAPortThatMayBeAPasswordMissingItsHost() {
        assertThatThrownBy(() -> Dsn.parse("postgres://app:XXXXXX"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("dsn: the text after ':' is not a port number; if it is user:password")
                .hasMessageNotContaining("XXXXXX");
        assertThatThrownBy(() -> Dsn.parse("postgresql://app:XXXXXX/app?sslmode=require"))
                .hasMessageNotContaining("XXXXXX");
    }

    @Test
    void rejectsMissingHost() {
        assertThatThrownBy(() -> Dsn.parse("postgres://u:pw@:5432/db"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("dsn: host is missing");
        assertThatThrownBy(() -> Dsn.parse("port=5432 user=u password=pw"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("dsn: host is missing");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "postgres://admin:Hunter2Secret@host:99999/db",
            "postgres://admin:Hunter2Secret@host:Hunter2Secret/db",
            "postgres://admin:Hunter2/Secret@host:5432/db",
            "postgres://admin:Hunter2?Secret@host:5432/db",
            "postgres://admin:Hunter2@Secret@host:5432/db",
            "postgres://admin:Hunter2Secret%zz@host:5432/db",
            "postgres://admin:Hunter2Secret@/db",
            "host=h password=Hunter2 Secret port=1",
            "host=h password='Hunter2Secret",
            "host=h port=x password=Hunter2Secret",
            "jdbc:postgresql://h:port/db?password=Hunter2Secret",
            "jdbc:postgresql:db?password=Hunter2Secret",
            "mysql://admin:Hunter2Secret@h/db",
    })
    void neverShowsThePasswordInErrors(String dsn) {
        assertThatThrownBy(() -> Dsn.parse(dsn))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(e.getMessage()).startsWith("dsn: ")
                        .doesNotContain("Hunter2").doesNotContain("Secret"));
    }

    @Test
    void toStringRedactsThePassword() {
        Dsn d = Dsn.parse("postgres://u:TopSecret@h:5432/db");
        assertThat(d.toString()).doesNotContain("TopSecret").contains("***").contains("u@h:5432/db");
    }

    @Test
    void passesTlsParametersToPgjdbcUnderTheLibpqNames() {
        Dsn d = Dsn.parse("host=db user=u sslmode=verify-full sslrootcert=/etc/ca.crt sslcert=/c/client.crt "
                + "sslkey=/c/client.key sslpassword=kp");
        assertThat(d.properties()).containsEntry("sslmode", "verify-full").containsEntry("sslrootcert", "/etc/ca.crt")
                .containsEntry("sslcert", "/c/client.crt").containsEntry("sslkey", "/c/client.key")
                .containsEntry("sslpassword", "kp");
        assertThat(Dsn.parse("postgres://u@db/app?sslmode=disable").properties()).containsEntry("sslmode", "disable");
        assertThat(Dsn.parse("postgres://u@db/app").properties()).doesNotContainKey("sslmode");
    }

    @Test
    void requireWithARootCertificateVerifiesTheServerAsLibpqDoes() {
        assertThat(Dsn.parse("postgres://u@db/app?sslmode=require&sslrootcert=/ca.crt").properties())
                .containsEntry("sslmode", "verify-ca");
        assertThat(Dsn.parse("postgres://u@db/app?sslmode=require").properties()).containsEntry("sslmode", "require");
    }

    @Test
    void systemRootCertificateUsesTheJvmTrustStoreWithFullVerification() {
        assertThat(Dsn.parse("postgres://u@db/app?sslrootcert=system").properties())
                .containsEntry("sslmode", "verify-full")
                .containsEntry("sslfactory", "org.postgresql.ssl.DefaultJavaSSLFactory")
                .doesNotContainKey("sslrootcert");
        assertThatThrownBy(() -> Dsn.parse("postgres://u@db/app?sslrootcert=system&sslmode=require"))
                .hasMessageContaining("sslrootcert=system needs sslmode=verify-full");
    }

    @Test
    void rejectsAnUnknownSslmode() {
        assertThatThrownBy(() -> Dsn.parse("postgres://u@db/app?sslmode=verify"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("dsn: sslmode 'verify' is not valid; expected one of disable, allow, prefer, "
                        + "require, verify-ca, verify-full");
    }

    @Test
    void toStringHidesTheSslKeyPassphrase() {
        Dsn dsn = Dsn.parse("postgres://app@db/app?sslpassword=%3D%3DXXXX&sslmode=require");
        assertThat(dsn.params()).containsEntry("sslpassword", "==XXXX");
        assertThat(dsn.toString()).doesNotContain("XXXX").contains("sslpassword=***").contains("sslmode=require");
    }
}
