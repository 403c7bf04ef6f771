package io.deltaforge.postgres.internal;

/**
 * Turns the text PostgreSQL wrote for one value of one type into a {@link io.deltaforge.api.Row} value.
 * Throws a runtime exception on text it does not expect; {@link TypeMapper} then keeps the whole column's
 * text. One instance per type, built once and shared; implementations hold no mutable state.
 */
@FunctionalInterface
interface ValueParser {
    /** The value of {@code text}, which is never null (SQL NULL never reaches a parser). */
    Object parse(String text);

    /** Returns the text itself: for text-like types, enums and anything unknown. */
    ValueParser TEXT = text -> text;
}
