package io.deltaforge.consumer;

/** What happened to the row, with the one-letter code every envelope writes ({@code op}). */
public enum ChangeOp {
    /** A row was inserted ({@code c}). */
    INSERT("c"),
    /** A row was updated ({@code u}). */
    UPDATE("u"),
    /** A row was deleted ({@code d}). */
    DELETE("d"),
    /** A row read by a snapshot ({@code r}). */
    SNAPSHOT_READ("r"),
    /** The table was truncated ({@code t}). */
    TRUNCATE("t"),
    /** A logical decoding message ({@code m}, {@code pg_logical_emit_message}). */
    MESSAGE("m");

    private final String code;

    ChangeOp(String code) {
        this.code = code;
    }

    /** The one-letter code, as in the envelopes. */
    public String code() {
        return code;
    }

    /**
     * The op for a code.
     *
     * @throws IllegalArgumentException naming the code when it is none of {@code c u d r t m}
     */
    public static ChangeOp ofCode(String code) {
        for (ChangeOp op : values()) {
            if (op.code.equals(code)) {
                return op;
            }
        }
        throw new IllegalArgumentException("op '" + code + "' is none of c, u, d, r, t, m");
    }
}
