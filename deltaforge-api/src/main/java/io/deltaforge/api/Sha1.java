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
     * One block into the hash {@code h}. The whole message schedule (FIPS 180-4 section 6.1.2, step 1) is
     * expanded first, in one loop: one step of a 16-word ring is 58 bytes of bytecode, more than C1 inlines
     * (35), so a ring cost a call in each of the 80 rounds. The rounds run in four loops of 20 so none needs a branch on
     * its round number.
     */
    private static void compress(int[] h, int[] w, byte[] message, int offset) {
        for (int t = 0; t < 16; t++) {
            int i = offset + 4 * t;
            w[t] = (message[i] << 24) | ((message[i + 1] & 0xff) << 16) | ((message[i + 2] & 0xff) << 8)
                    | (message[i + 3] & 0xff);
        }
        for (int t = 16; t < 80; t++) {
            w[t] = Integer.rotateLeft(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
        }
        int a = h[0];
        int b = h[1];
        int c = h[2];
        int d = h[3];
        int e = h[4];
        int t = 0;
        for (; t < 20; t++) {
            int temp = Integer.rotateLeft(a, 5) + ((b & c) | (~b & d)) + e + 0x5A827999 + w[t];
            e = d;
            d = c;
            c = Integer.rotateLeft(b, 30);
            b = a;
            a = temp;
        }
        for (; t < 40; t++) {
            int temp = Integer.rotateLeft(a, 5) + (b ^ c ^ d) + e + 0x6ED9EBA1 + w[t];
            e = d;
            d = c;
            c = Integer.rotateLeft(b, 30);
            b = a;
            a = temp;
        }
        for (; t < 60; t++) {
            int temp = Integer.rotateLeft(a, 5) + ((b & c) | (b & d) | (c & d)) + e + 0x8F1BBCDC + w[t];
            e = d;
            d = c;
            c = Integer.rotateLeft(b, 30);
            b = a;
            a = temp;
        }
        for (; t < 80; t++) {
            int temp = Integer.rotateLeft(a, 5) + (b ^ c ^ d) + e + 0xCA62C1D6 + w[t];
            e = d;
            d = c;
            c = Integer.rotateLeft(b, 30);
            b = a;
            a = temp;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
}
