package io.deltaforge.api;

/** What happened to a row, with the one-letter codes Debezium made common. */
public enum Op {
    CREATE("c"),
    UPDATE("u"),
    DELETE("d"),
    /** A row read by a snapshot rather than captured as a change. */
    READ("r"),
    TRUNCATE("t"),
    /** A logical decoding message ({@code pg_logical_emit_message}). */
    MESSAGE("m");

    private final String code;

    Op(String code) {
        this.code = code;
    }

    /** The one-letter code: {@code c u d r t m}. */
    public String code() {
        return code;
    }

    /** The op for a one-letter code; throws {@link IllegalArgumentException} naming the valid codes. */
    public static Op fromCode(String code) {
        for (Op op : values()) {
            if (op.code.equals(code)) {
                return op;
            }
        }
        throw new IllegalArgumentException("unknown op '" + code + "'; expected one of c, u, d, r, t, m");
    }
}
