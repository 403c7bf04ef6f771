package io.deltaforge.postgres.internal;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Writes pgoutput protocol version 1 messages as the server does, for decoder tests. */
final class PgOutputWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static PgOutputWriter message(char type) {
        return new PgOutputWriter().i8(type);
    }

    PgOutputWriter i8(int v) {
        out.write(v);
        return this;
    }

    PgOutputWriter i16(int v) {
        return raw(ByteBuffer.allocate(2).putShort((short) v).array());
    }

    PgOutputWriter i32(int v) {
        return raw(ByteBuffer.allocate(4).putInt(v).array());
    }

    PgOutputWriter i64(long v) {
        return raw(ByteBuffer.allocate(8).putLong(v).array());
    }

    /** A zero-terminated UTF-8 string. */
    PgOutputWriter str(String s) {
        return raw(s.getBytes(StandardCharsets.UTF_8)).i8(0);
    }

    /** A length-prefixed text column value ('t'). */
    PgOutputWriter text(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return i8('t').i32(b.length).raw(b);
    }

    PgOutputWriter raw(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}
