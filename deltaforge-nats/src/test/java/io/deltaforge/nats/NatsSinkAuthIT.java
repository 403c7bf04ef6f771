package io.deltaforge.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.deltaforge.testkit.NatsServer;
import io.nats.client.NKey;
import io.nats.client.support.JsonSerializable;
import io.nats.client.support.JwtUtils;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Each way of authenticating, against a nats-server configured for it. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NatsSinkAuthIT {
    @TempDir
    Path dir;

    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    @Test
    void usernameAndPasswordAreAccepted() throws Exception {
        NatsServer nats = server("authorization { user: deltaforge, password: \"s3cret pass\" }");
        assertPublishes(NatsSink.builder().url(nats.url()).username("deltaforge").password("s3cret pass"));
    }

    @Test
    void aWrongPasswordFailsStartForGoodWithoutShowingIt() {
        NatsServer nats = server("authorization { user: deltaforge, password: right }");
        NatsSink sink = sink(NatsSink.builder().url(nats.url()).username("deltaforge").password("wrong-hunter2"));
        assertThatThrownBy(sink::start).isInstanceOf(DeltaforgeException.class)
                .isNotInstanceOf(RetryableException.class)
                .hasMessageContaining("refused our credentials (user/password)")
                .hasMessageNotContaining("wrong-hunter2");
    }

    @Test
    void aSubjectTheUserMayNotPublishToFailsTheBatchForGood() throws Exception {
        NatsServer nats = server("authorization { users = [ { user: app, password: pw,"
                + " permissions: { publish: { deny: [\"users.events\"] } } } ] }");
        NatsSink sink = sink(NatsSink.builder().url(nats.url()).username("app").password("pw").createStream(true)
                .streamSubjects(List.of("users.>")).sendTimeout(java.time.Duration.ofSeconds(2))
                .batchTimeout(java.time.Duration.ofSeconds(4)));
        sink.start();
        Throwable failure;
        try {
            sink.send(new Batches().batch(1)).toCompletableFuture().get(60, TimeUnit.SECONDS);
            throw new AssertionError("expected the publish to be refused");
        } catch (java.util.concurrent.ExecutionException e) {
            failure = e.getCause();
        }
        assertThat(failure).isInstanceOf(DeltaforgeException.class).isNotInstanceOf(RetryableException.class)
                .hasMessageContaining("does not allow this user to publish to 'users.events'");
    }

    @Test
    void aTokenIsAccepted() throws Exception {
        NatsServer nats = server("authorization { token: \"t0ken-value\" }");
        assertPublishes(NatsSink.builder().url(nats.url()).token("t0ken-value"));
    }

    @Test
    void anNkeySeedFileIsAccepted() throws Exception {
        NKey user = NKey.createUser(new SecureRandom());
        NatsServer nats = server("authorization { users = [ { nkey: " + new String(user.getPublicKey()) + " } ] }");
        Path seed = Files.writeString(dir.resolve("user.nk"), new String(user.getSeed()) + "\n");
        assertPublishes(NatsSink.builder().url(nats.url()).nkeySeedFile(seed));
    }

    @Test
    void aCredentialsFileIsAcceptedByAServerInOperatorMode() throws Exception {
        SecureRandom random = new SecureRandom();
        NKey operator = NKey.createOperator(random);
        NKey account = NKey.createAccount(random);
        NKey system = NKey.createAccount(random);
        String systemPub = new String(system.getPublicKey());
        NKey user = NKey.createUser(random);
        String operatorPub = new String(operator.getPublicKey());
        String accountPub = new String(account.getPublicKey());
        long now = JwtUtils.currentTimeSeconds();
        String operatorJwt = JwtUtils.issueJWT(operator, operatorPub, "test-operator", null, now, operatorPub,
                json("{\"type\":\"operator\",\"version\":2}"));
        String accountJwt = JwtUtils.issueJWT(operator, accountPub, "test-account", null, now, operatorPub,
                json("{\"limits\":{\"subs\":-1,\"data\":-1,\"payload\":-1,\"imports\":-1,\"exports\":-1,"
                        + "\"wildcards\":true,\"conn\":-1,\"leaf\":-1,\"mem_storage\":-1,\"disk_storage\":-1,"
                        + "\"streams\":-1,\"consumer\":-1},\"type\":\"account\",\"version\":2}"));
        String systemJwt = JwtUtils.issueJWT(operator, systemPub, "SYS", null, now, operatorPub,
                json("{\"type\":\"account\",\"version\":2}"));
        String userJwt = JwtUtils.issueUserJWT(account, accountPub, new String(user.getPublicKey()));
        Path creds = Files.writeString(dir.resolve("user.creds"),
                String.format(JwtUtils.NATS_USER_JWT_FORMAT, userJwt, new String(user.getSeed())));
        NatsServer nats = server("operator: " + operatorJwt + "\nsystem_account: " + systemPub
                + "\nresolver: MEMORY\nresolver_preload: {\n  " + accountPub + ": " + accountJwt + "\n  " + systemPub
                + ": " + systemJwt + "\n}\n");
        assertPublishes(NatsSink.builder().url(nats.url()).credentialsFile(creds));
    }

    @Test
    void tlsWithAPrivateCaFileIsAccepted() throws Exception {
        Pki pki = pki();
        NatsServer nats = server(tlsBlock(pki, false));
        assertPublishes(NatsSink.builder().url(nats.url()).tlsCaFile(pki.ca));
    }

    @Test
    void aClientCertificateIsAcceptedByAServerThatVerifiesClients() throws Exception {
        Pki pki = pki();
        NatsServer nats = server(tlsBlock(pki, true));
        assertPublishes(NatsSink.builder().url(nats.url()).tlsCaFile(pki.ca)
                .tlsClientCertificate(pki.clientCert, pki.clientKey));

        NatsSink withoutCert = sink(NatsSink.builder().url(nats.url()).tlsCaFile(pki.ca));
        assertThatThrownBy(withoutCert::start).isInstanceOf(DeltaforgeException.class);
    }

    @Test
    void tlsWithSystemTrustRejectsAServerSignedByAnUnknownCa() {
        Pki pki = pki();
        NatsServer nats = server(tlsBlock(pki, false));
        NatsSink sink = sink(NatsSink.builder().url(nats.url()).tls(true));
        assertThatThrownBy(sink::start).isInstanceOf(DeltaforgeException.class)
                .isNotInstanceOf(RetryableException.class)
                .hasMessageContaining("TLS with the NATS server")
                .hasMessageContaining("ca_file");
    }

    // ---- helpers -------------------------------------------------------------------------------------

    private void assertPublishes(NatsSink.Builder builder) throws Exception {
        NatsSink sink = sink(builder.createStream(true));
        sink.start();
        Batches batches = new Batches();
        sink.send(batches.batch(5)).toCompletableFuture().get(60, TimeUnit.SECONDS);
        assertThat(sink.published()).isEqualTo(5);
        assertThat(sink.duplicates()).isZero();
    }

    private NatsSink sink(NatsSink.Builder builder) {
        NatsSink sink = builder.id("users-nats").subject("users.events").stream("USERS").build();
        closeables.add(sink);
        return sink;
    }

    private NatsServer server(String conf) {
        NatsServer nats = NatsServer.startWithConfig(conf);
        closeables.add(nats);
        return nats;
    }

    private static JsonSerializable json(String text) {
        return () -> text;
    }

    private record Pki(Path ca, Path serverCert, Path serverKey, Path clientCert, Path clientKey) {
    }

    private static String tlsBlock(Pki pki, boolean verifyClients) {
        return "tls {\n  cert_file: \"" + pki.serverCert + "\"\n  key_file: \"" + pki.serverKey + "\"\n  ca_file: \""
                + pki.ca + "\"\n  verify: " + verifyClients + "\n  timeout: 5\n}\n";
    }

    /** A throwaway CA with a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
    private Pki pki() {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl"))
                || System.getenv("PATH").contains("openssl"), "openssl is needed to make test certificates");
        try {
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem",
                    "-days", "2", "-subj", "/CN=deltaforge-test-ca");
            Files.writeString(dir.resolve("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    + "extendedKeyUsage=serverAuth\n");
            Files.writeString(dir.resolve("client.ext"), "extendedKeyUsage=clientAuth\n");
            for (String who : List.of("server", "client")) {
                openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", who + "-key.pem", "-out", who + ".csr",
                        "-subj", "/CN=" + (who.equals("server") ? "localhost" : "deltaforge"));
                openssl("x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                        "-CAcreateserial", "-out", who + ".pem", "-days", "2", "-extfile", who + ".ext");
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return new Pki(dir.resolve("ca.pem"), dir.resolve("server.pem"), dir.resolve("server-key.pem"),
                dir.resolve("client.pem"), dir.resolve("client-key.pem"));
    }

    private void openssl(String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add("openssl");
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " failed: " + new String(out, StandardCharsets.UTF_8));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
