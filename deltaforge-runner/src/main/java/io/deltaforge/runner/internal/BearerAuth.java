package io.deltaforge.runner.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Who may use the endpoints that change a pipeline: nobody while no token is configured, else whoever
 * sends {@code Authorization: Bearer <token>}.
 *
 * <p>Tokens are compared as SHA-256 digests with {@link MessageDigest#isEqual}: the time taken depends
 * neither on how many leading characters match nor on the length of the configured token.
 */
final class BearerAuth {
    /** The outcome of a check. */
    enum Verdict {
        ALLOWED,
        /** No token is configured: the endpoints are off. */
        DISABLED,
        /** The request has no bearer token. */
        MISSING,
        /** The request's bearer token is not the configured one. */
        WRONG
    }

    private final byte @Nullable [] tokenDigest;

    /** @param token the required token; null turns the endpoints off */
    BearerAuth(@Nullable String token) {
        this.tokenDigest = token == null ? null : sha256(token);
    }

    boolean enabled() {
        return tokenDigest != null;
    }

    /** @param authorization the request's {@code Authorization} header, null when absent */
    Verdict check(@Nullable String authorization) {
        if (tokenDigest == null) {
            return Verdict.DISABLED;
        }
        if (authorization == null) {
            return Verdict.MISSING;
        }
        String header = authorization.strip();
        int space = header.indexOf(' ');
        if (space < 0 || !header.substring(0, space).toLowerCase(Locale.ROOT).equals("bearer")) {
            return Verdict.MISSING;
        }
        String presented = header.substring(space + 1).strip();
        if (presented.isEmpty()) {
            return Verdict.MISSING;
        }
        return MessageDigest.isEqual(tokenDigest, sha256(presented)) ? Verdict.ALLOWED : Verdict.WRONG;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
