package io.deltaforge.nats.internal;

import io.deltaforge.api.DeltaforgeException;
import io.nats.client.AuthHandler;
import io.nats.client.NKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Arrays;

/**
 * NKey authentication from a seed file ({@code nkey_seed_file}): the line starting with {@code SU} is the
 * user seed, as {@code nk -gen user} writes it. The file is read at each connect, so a rotated seed is
 * picked up by the next connection; the seed is never logged nor kept in a field.
 */
final class NKeySeedAuth implements AuthHandler {
    private final String sink;
    private final Path file;

    NKeySeedAuth(String sink, Path file) {
        this.sink = sink;
        this.file = file;
    }

    /** Reads the file once to fail early (at start) with a clear message. */
    void check() {
        NKey key = key();
        key.clear();
    }

    @Override
    public byte[] sign(byte[] nonce) {
        NKey key = key();
        try {
            return key.sign(nonce);
        } catch (GeneralSecurityException | IOException e) {
            throw new DeltaforgeException(sink + ": cannot sign with the NKey of nkey_seed_file '" + file + "': "
                    + e.getClass().getSimpleName(), e);
        } finally {
            key.clear();
        }
    }

    @Override
    public char[] getID() {
        NKey key = key();
        try {
            return key.getPublicKey();
        } catch (GeneralSecurityException | IOException e) {
            throw new DeltaforgeException(sink + ": cannot read the public key of nkey_seed_file '" + file + "'", e);
        } finally {
            key.clear();
        }
    }

    @Override
    public char[] getJWT() {
        return null;
    }

    private NKey key() {
        char[] seed = null;
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
                String t = line.trim();
                if (t.startsWith("SU")) {
                    seed = t.toCharArray();
                    break;
                }
            }
        } catch (IOException e) {
            throw new DeltaforgeException(sink + ": cannot read nkey_seed_file '" + file + "': " + e.getMessage(), e);
        }
        if (seed == null) {
            throw new DeltaforgeException(sink + ": nkey_seed_file '" + file + "' holds no user seed (a line starting"
                    + " with SU); create one with: nk -gen user -pubout");
        }
        try {
            return NKey.fromSeed(seed);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new DeltaforgeException(sink + ": nkey_seed_file '" + file + "' does not hold a valid user seed", e);
        } finally {
            Arrays.fill(seed, '\0');
        }
    }
}
