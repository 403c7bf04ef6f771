package io.deltaforge.nats.internal;

import io.deltaforge.api.DeltaforgeException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import org.jspecify.annotations.Nullable;

/**
 * Builds the TLS context from PEM files, the form nats-server and most tooling use: a CA bundle to trust
 * (else the JVM's default trust store), and optionally a client certificate chain with its unencrypted
 * PKCS#8 private key ({@code -----BEGIN PRIVATE KEY-----}; RSA, EC or Ed25519).
 */
final class TlsContexts {
    private static final char[] NO_PASSWORD = new char[0];

    private TlsContexts() {
    }

    static SSLContext create(String sink, @Nullable Path caFile, @Nullable Path certFile, @Nullable Path keyFile) {
        try {
            TrustManager[] trust = null;
            if (caFile != null) {
                KeyStore ts = KeyStore.getInstance(KeyStore.getDefaultType());
                ts.load(null, null);
                int i = 0;
                for (Certificate c : certificates(caFile)) {
                    ts.setCertificateEntry("ca-" + i++, c);
                }
                if (i == 0) {
                    throw new DeltaforgeException(sink + ": tls.ca_file '" + caFile + "' holds no certificate; give a"
                            + " PEM file with -----BEGIN CERTIFICATE----- blocks");
                }
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(ts);
                trust = tmf.getTrustManagers();
            }
            KeyManager[] keys = null;
            if (certFile != null && keyFile != null) {
                Collection<? extends Certificate> chain = certificates(certFile);
                if (chain.isEmpty()) {
                    throw new DeltaforgeException(sink + ": tls.cert_file '" + certFile + "' holds no certificate");
                }
                KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
                ks.load(null, null);
                ks.setKeyEntry("client", privateKey(sink, keyFile), NO_PASSWORD, chain.toArray(Certificate[]::new));
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, NO_PASSWORD);
                keys = kmf.getKeyManagers();
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, trust, null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new DeltaforgeException(sink + ": cannot set up TLS from the configured files: " + e.getMessage()
                    + "; check tls.ca_file, tls.cert_file and tls.key_file (PEM, unencrypted PKCS#8 key)", e);
        }
    }

    private static Collection<? extends Certificate> certificates(Path file) throws IOException, GeneralSecurityException {
        byte[] bytes = Files.readAllBytes(file);
        return CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(bytes));
    }

    private static PrivateKey privateKey(String sink, Path file) throws IOException, GeneralSecurityException {
        String pem = Files.readString(file, StandardCharsets.US_ASCII);
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            // Never echo the file: it is a secret.
            throw new DeltaforgeException(sink + ": tls.key_file '" + file + "' is not an unencrypted PKCS#8 PEM key;"
                    + " convert it with: openssl pkcs8 -topk8 -nocrypt -in key.pem -out key-pkcs8.pem");
        }
        String body = pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end).replaceAll("\\s", "");
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body));
        List<String> tried = new ArrayList<>();
        for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                tried.add(algorithm);
            }
        }
        throw new DeltaforgeException(sink + ": tls.key_file '" + file + "' is not an " + String.join(", ", tried)
                + " private key");
    }
}
