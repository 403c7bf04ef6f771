package io.deltaforge.api;

import java.util.Arrays;

/**
 * SHA-1 as specified in FIPS 180-4 (sections 5.1.1, 6.1), for {@link NameUuid}. The JDK's provider is the same
 * function, but where it is not intrinsified (the interpreter and C1, which the runner uses) its layers
 * (MessageDigest, a clone per id, byte access through VarHandles) cost more than the compression itself; this
 * is plain int arithmetic. Only for name-based ids, never for anything that needs a secure hash.
 */
final class Sha1 {
    private static final int BLOCK_BYTES = 64;
    /** The message length in bits takes the last 8 bytes of the padded message. */
    private static final int LENGTH_BYTES = 8;
    /** The round constants of FIPS 180-4 (4.2.1), by the rounds they are for. */
    private static final int K_0_19 = 0x5A827999;
    private static final int K_20_39 = 0x6ED9EBA1;
    private static final int K_40_59 = 0x8F1BBCDC;
    private static final int K_60_79 = 0xCA62C1D6;

    private Sha1() {
    }

    /** The buffer size {@link #digest} needs for a message of {@code length} bytes: with its padding. */
    static int paddedLength(int length) {
        return (length + 1 + LENGTH_BYTES + BLOCK_BYTES - 1) / BLOCK_BYTES * BLOCK_BYTES;
    }

    /**
     * The digest of {@code message[0..length)} as its five big-endian words. Pads the message in place, so
     * {@code message} must have at least {@link #paddedLength}{@code (length)} bytes; what follows
     * {@code length} is overwritten.
     */
    static int[] digest(byte[] message, int length) {
        int end = paddedLength(length);
        message[length] = (byte) 0x80;
        Arrays.fill(message, length + 1, end - LENGTH_BYTES, (byte) 0);
        long bits = (long) length * 8;
        for (int i = 1; i <= LENGTH_BYTES; i++) {
            message[end - i] = (byte) (bits >>> (8 * (i - 1)));
        }
        int[] h = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
        int[] w = new int[80];
        for (int block = 0; block < end; block += BLOCK_BYTES) {
            compress(h, w, message, block);
        }
        return h;
    }

    /**
     * One block into the hash {@code h}. Written for C1, which neither unrolls loops nor reorders a sum, so the
     * source's order is the machine code's:
     * <ul>
     * <li>Each loop iteration is five rounds in which the working variables take each other's roles, rather
     * than one round that moves each variable on to the next (e = d, d = c, ...) as the standard writes it;
     * after five rounds every role is back where it started.
     * <li>In a round's sum the term from the previous round, rotl(a, 5), comes last, so only one addition waits
     * for it and the rest is computed meanwhile.
     * <li>Words 20 to 79 of the message schedule (FIPS 180-4 section 6.1.2, step 1) are computed in the round
     * that uses them, which saves a second pass over the array, with its loop and a load per word.
     * </ul>
     */
    private static void compress(int[] h, int[] w, byte[] message, int offset) {
        for (int t = 0; t < 16; t++) {
            int i = offset + 4 * t;
            w[t] = (message[i] << 24) | ((message[i + 1] & 0xff) << 16) | ((message[i + 2] & 0xff) << 8)
                    | (message[i + 3] & 0xff);
        }
        for (int t = 16; t < 20; t++) {
            next(w, t);
        }
        int a = h[0];
        int b = h[1];
        int c = h[2];
        int d = h[3];
        int e = h[4];
        int t = 0;
        for (; t < 20; t += 5) {
            e = e + K_0_19 + w[t] + choose(b, c, d) + Integer.rotateLeft(a, 5);
            b = Integer.rotateLeft(b, 30);
            d = d + K_0_19 + w[t + 1] + choose(a, b, c) + Integer.rotateLeft(e, 5);
            a = Integer.rotateLeft(a, 30);
            c = c + K_0_19 + w[t + 2] + choose(e, a, b) + Integer.rotateLeft(d, 5);
            e = Integer.rotateLeft(e, 30);
            b = b + K_0_19 + w[t + 3] + choose(d, e, a) + Integer.rotateLeft(c, 5);
            d = Integer.rotateLeft(d, 30);
            a = a + K_0_19 + w[t + 4] + choose(c, d, e) + Integer.rotateLeft(b, 5);
            c = Integer.rotateLeft(c, 30);
        }
        for (; t < 40; t += 5) {
            e = e + K_20_39 + next(w, t) + (b ^ c ^ d) + Integer.rotateLeft(a, 5);
            b = Integer.rotateLeft(b, 30);
            d = d + K_20_39 + next(w, t + 1) + (a ^ b ^ c) + Integer.rotateLeft(e, 5);
            a = Integer.rotateLeft(a, 30);
            c = c + K_20_39 + next(w, t + 2) + (e ^ a ^ b) + Integer.rotateLeft(d, 5);
            e = Integer.rotateLeft(e, 30);
            b = b + K_20_39 + next(w, t + 3) + (d ^ e ^ a) + Integer.rotateLeft(c, 5);
            d = Integer.rotateLeft(d, 30);
            a = a + K_20_39 + next(w, t + 4) + (c ^ d ^ e) + Integer.rotateLeft(b, 5);
            c = Integer.rotateLeft(c, 30);
        }
        for (; t < 60; t += 5) {
            e = e + K_40_59 + next(w, t) + majority(b, c, d) + Integer.rotateLeft(a, 5);
            b = Integer.rotateLeft(b, 30);
            d = d + K_40_59 + next(w, t + 1) + majority(a, b, c) + Integer.rotateLeft(e, 5);
            a = Integer.rotateLeft(a, 30);
            c = c + K_40_59 + next(w, t + 2) + majority(e, a, b) + Integer.rotateLeft(d, 5);
            e = Integer.rotateLeft(e, 30);
            b = b + K_40_59 + next(w, t + 3) + majority(d, e, a) + Integer.rotateLeft(c, 5);
            d = Integer.rotateLeft(d, 30);
            a = a + K_40_59 + next(w, t + 4) + majority(c, d, e) + Integer.rotateLeft(b, 5);
            c = Integer.rotateLeft(c, 30);
        }
        for (; t < 80; t += 5) {
            e = e + K_60_79 + next(w, t) + (b ^ c ^ d) + Integer.rotateLeft(a, 5);
            b = Integer.rotateLeft(b, 30);
            d = d + K_60_79 + next(w, t + 1) + (a ^ b ^ c) + Integer.rotateLeft(e, 5);
            a = Integer.rotateLeft(a, 30);
            c = c + K_60_79 + next(w, t + 2) + (e ^ a ^ b) + Integer.rotateLeft(d, 5);
            e = Integer.rotateLeft(e, 30);
            b = b + K_60_79 + next(w, t + 3) + (d ^ e ^ a) + Integer.rotateLeft(c, 5);
            d = Integer.rotateLeft(d, 30);
            a = a + K_60_79 + next(w, t + 4) + (c ^ d ^ e) + Integer.rotateLeft(b, 5);
            c = Integer.rotateLeft(c, 30);
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }

    /**
     * Word {@code t} of the message schedule, stored for the rounds after it. 35 bytes of bytecode, just what
     * C1 still inlines (C1MaxInlineSize); a ring of 16 words instead of 80 would not fit.
     */
    private static int next(int[] w, int t) {
        return w[t] = Integer.rotateLeft(w[t - 16] ^ w[t - 14] ^ w[t - 8] ^ w[t - 3], 1);
    }

    /** Ch of FIPS 180-4 (4.1.1), with one operation fewer than its formula there. */
    private static int choose(int x, int y, int z) {
        return z ^ (x & (y ^ z));
    }

    /** Maj of FIPS 180-4 (4.1.1), with one operation fewer than its formula there. */
    private static int majority(int x, int y, int z) {
        return (x & y) | (z & (x | y));
    }
}
