package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.deltaforge.testkit.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A PostgreSQL with a certificate from a CA made here with the openssl CLI (skipped when openssl is
 * missing). The server's files go into its data directory, owned by the server's OS user, key 0600.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TlsIT {
    private static PostgresServer pg;
    private static Path dir;

    @BeforeAll
    static void startServerWithTls() throws Exception {
        Assumptions.assumeTrue(openssl("version") == 0, "openssl CLI not found");
        dir = Files.createTempDirectory("deltaforge-tls-");
        ca("ca");
        ca("other_ca");
        signed("server", "/CN=127.0.0.1", "ca", "subjectAltName=IP:127.0.0.1");
        signed("client", "/CN=certuser", "ca", null);
        pg = PostgresServer.start();
        Path data = Path.of(pg.queryString("SHOW data_directory"));
        UserPrincipal owner = Files.getOwner(data);
        for (String f : List.of("server.crt", "server.key", "ca.crt")) {
            Path target = data.resolve(f);
            Files.copy(dir.resolve(f), target);
            Files.setOwner(target, owner);
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-------"));
        }
        Path hba = data.resolve("tls_hba.conf");
        Files.writeString(hba, String.join("\n",
                "local all all trust",
                "local replication all trust",
                "hostssl all certuser 127.0.0.1/32 cert",
                "hostssl replication certuser 127.0.0.1/32 cert",
                "host all all 127.0.0.1/32 scram-sha-256",
                "host replication all 127.0.0.1/32 scram-sha-256", ""));
        Files.setOwner(hba, owner);
        pg.execute("ALTER SYSTEM SET ssl = on");
        pg.execute("ALTER SYSTEM SET ssl_cert_file = 'server.crt'");
        pg.execute("ALTER SYSTEM SET ssl_key_file = 'server.key'");
        pg.execute("ALTER SYSTEM SET ssl_ca_file = 'ca.crt'");
        pg.execute("ALTER SYSTEM SET hba_file = '" + hba + "'");
        pg.restart();
        pg.execute("CREATE ROLE certuser LOGIN REPLICATION; CREATE TABLE public.t (id int PRIMARY KEY);"
                + "GRANT SELECT ON public.t TO certuser; CREATE PUBLICATION pub FOR TABLE public.t");
    }

    @AfterAll
    static void stop() throws IOException {
        if (pg != null) {
            pg.close();
        }
        if (dir != null) {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void verifyFullWithTheRightCaStreamsOverTls() throws Exception {
        String dsn = "postgres://postgres:postgres@127.0.0.1:" + pg.port() + "/postgres?sslmode=verify-full&sslrootcert="
                + dir.resolve("ca.crt");
        streamsOneInsert(dsn, "tls_full", 1);
    }

    @Test
    void clientCertificateAuthenticatesWithoutPassword() throws Exception {
        String dsn = "host=127.0.0.1 port=" + pg.port() + " dbname=postgres user=certuser sslmode=verify-ca sslrootcert="
                + dir.resolve("ca.crt") + " sslcert=" + dir.resolve("client.crt") + " sslkey=" + dir.resolve("client.key");
        streamsOneInsert(dsn, "tls_cert", 2);
    }

    @Test
    void serverCertificateFromAnotherCaIsAPermanentErrorNamingSslrootcert() {
        String dsn = "postgres://postgres:postgres@127.0.0.1:" + pg.port() + "/postgres?sslmode=verify-ca&sslrootcert="
                + dir.resolve("other_ca.crt");
        try (PostgresSource s = PostgresSource.builder().dsn(dsn).slot("tls_bad").publication("pub").build()) {
            assertThatThrownBy(s::start).isInstanceOf(DeltaforgeException.class)
                    .isNotInstanceOf(RetryableException.class)
                    .hasMessageContaining("check sslrootcert");
        }
    }

    @Test
    void requireWithARootCertificateVerifiesLikeLibpq() {
        String dsn = "postgres://postgres:postgres@127.0.0.1:" + pg.port() + "/postgres?sslmode=require&sslrootcert="
                + dir.resolve("other_ca.crt");
        try (PostgresSource s = PostgresSource.builder().dsn(dsn).slot("tls_req").publication("pub").build()) {
            assertThatThrownBy(s::start).isInstanceOf(DeltaforgeException.class).hasMessageContaining("sslrootcert");
        }
    }

    private static void streamsOneInsert(String dsn, String slot, int id) throws Exception {
        try (PostgresSource s = PostgresSource.builder().dsn(dsn).slot(slot).publication("pub")
                .statusInterval(Duration.ofSeconds(1)).build()) {
            s.start();
            pg.execute("INSERT INTO public.t VALUES (" + id + ")");
            List<ChangeEvent> events = ProtocolIT.events(ProtocolIT.pollCommits(s, 1));
            assertThat(events).extracting(e -> e.after().get("id")).containsExactly((long) id);
            assertThat(pg.queryString("SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                    + "WHERE a.backend_type = 'walsender'")).isEqualTo("t");
        }
    }

    private static void ca(String name) throws Exception {
        check(openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
                name + ".crt", "-days", "2", "-subj", "/CN=" + name));
    }

    private static void signed(String name, String subject, String ca, String san) throws Exception {
        check(openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", subject));
        Path ext = dir.resolve(name + ".ext");
        Files.writeString(ext, san == null ? "basicConstraints=CA:FALSE\n" : san + "\n");
        check(openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
                "-CAcreateserial", "-out", name + ".crt", "-days", "2", "-extfile", ext.toString()));
        Files.setPosixFilePermissions(dir.resolve(name + ".key"), PosixFilePermissions.fromString("rw-------"));
    }

    private static void check(int exit) {
        assertThat(exit).as("openssl exit code").isZero();
    }

    private static int openssl(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>();
        command.add("openssl");
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        try {
            Process p = pb.start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (IOException e) {
            return -1;
        }
    }
}
