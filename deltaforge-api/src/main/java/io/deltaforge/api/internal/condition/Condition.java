package io.deltaforge.api.internal.condition;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A parsed row condition: comparisons of columns with literals, combined with {@code AND}, {@code OR} and
 * {@code NOT}. Built only by {@link #parse}; {@link #canonical()} gives text that parses back to an equal
 * tree, and is what gets stored and logged.
 *
 * <p>Grammar (keywords case-insensitive):
 * <pre>
 * condition := and ( OR and )*
 * and       := not ( AND not )*
 * not       := NOT not | '(' condition ')' | predicate
 * predicate := column ( '=' | '&lt;&gt;' | '!=' | '&lt;' | '&lt;=' | '&gt;' | '&gt;=' ) literal
 *            | column [NOT] IN '(' literal ( ',' literal )* ')'
 *            | column [NOT] BETWEEN literal AND literal
 *            | column IS [NOT] NULL
 * column    := identifier | "quoted identifier"
 * literal   := integer | decimal | 'string' | TRUE | FALSE
 * </pre>
 * A plain identifier is folded to lower case, as PostgreSQL does; a quoted one is taken as written.
 */
public sealed interface Condition {
    /** At most this many characters (which also bounds the number of literals, and so of bound parameters). */
    int MAX_LENGTH = 4000;
    /** At most this many nested parentheses and NOTs. */
    int MAX_DEPTH = 32;
    /** At most this many literals in one IN list. */
    int MAX_IN_LIST = 1000;

    /**
     * Parses a condition.
     *
     * @throws IllegalArgumentException naming the problem and its position (1-based character index)
     */
    static Condition parse(String text) {
        return new ConditionParser(Objects.requireNonNull(text, "text")).parse();
    }

    /** The condition as grammar text that {@link #parse} reads back into an equal tree. */
    default String canonical() {
        return Canonical.of(this);
    }

    /** {@code a OR b OR …}: at least two parts, none of them an {@code Or}. */
    record Or(List<Condition> parts) implements Condition {
        public Or {
            parts = List.copyOf(parts);
        }
    }

    /** {@code a AND b AND …}: at least two parts, none of them an {@code And}. */
    record And(List<Condition> parts) implements Condition {
        public And {
            parts = List.copyOf(parts);
        }
    }

    /** {@code NOT part}. */
    record Not(Condition part) implements Condition {
    }

    /** {@code column op value}. */
    record Compare(Column column, Operator operator, Literal value) implements Condition {
    }

    /** {@code column [NOT] IN (values)}. */
    record In(Column column, boolean negated, List<Literal> values) implements Condition {
        public In {
            values = List.copyOf(values);
        }
    }

    /** {@code column [NOT] BETWEEN low AND high}. */
    record Between(Column column, boolean negated, Literal low, Literal high) implements Condition {
    }

    /** {@code column IS [NOT] NULL}. */
    record IsNull(Column column, boolean negated) implements Condition {
    }

    /**
     * A column name as the database spells it (plain identifiers folded to lower case).
     *
     * @param position where it starts in the parsed text (1-based), for error messages
     */
    record Column(String name, int position) {
        /** The name as grammar text: plain when it reads back the same, else double-quoted. */
        public String text() {
            boolean plain = name.matches("[a-z_][a-z0-9_]*") && !ConditionParser.isReserved(name);
            return plain ? name : '"' + name.replace("\"", "\"\"") + '"';
        }
    }

    /**
     * A literal; sources bind {@link #value} as text and convert it to the column's type.
     *
     * @param kind  what the text was written as
     * @param value the value as text: digits for numbers, the unescaped string, {@code true}/{@code false}
     */
    record Literal(Kind kind, String value) {
        /** How a literal was written. */
        public enum Kind { NUMBER, STRING, BOOLEAN }

        /** The literal as grammar text. */
        public String text() {
            return switch (kind) {
                case NUMBER -> value;
                case STRING -> "'" + value.replace("'", "''") + "'";
                case BOOLEAN -> value.toUpperCase(Locale.ROOT);
            };
        }
    }

    /** A comparison operator; {@code !=} is read as {@link #NOT_EQUAL}. */
    enum Operator {
        EQUAL("="), NOT_EQUAL("<>"), LESS("<"), LESS_OR_EQUAL("<="), GREATER(">"), GREATER_OR_EQUAL(">=");

        /** The operator as SQL spells it. */
        public final String symbol;

        Operator(String symbol) {
            this.symbol = symbol;
        }

        static String symbols() {
            return Arrays.stream(values()).map(o -> o.symbol).collect(Collectors.joining(" ")) + " !=";
        }
    }
}
