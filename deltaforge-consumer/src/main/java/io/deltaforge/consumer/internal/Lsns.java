package io.deltaforge.consumer.internal;

/** LSNs in PostgreSQL's text form, so every envelope's positions read the same. */
final class Lsns {
    private Lsns() {
    }

    /** {@code 0/16B3748}: the high and low 32 bits in upper-case hex. */
    static String text(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase(java.util.Locale.ROOT) + "/"
                + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase(java.util.Locale.ROOT);
    }
}
