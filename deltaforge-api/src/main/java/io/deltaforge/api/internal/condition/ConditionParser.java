package io.deltaforge.api.internal.condition;

import io.deltaforge.api.internal.condition.Condition.And;
import io.deltaforge.api.internal.condition.Condition.Between;
import io.deltaforge.api.internal.condition.Condition.Column;
import io.deltaforge.api.internal.condition.Condition.Compare;
import io.deltaforge.api.internal.condition.Condition.In;
import io.deltaforge.api.internal.condition.Condition.IsNull;
import io.deltaforge.api.internal.condition.Condition.Literal;
import io.deltaforge.api.internal.condition.Condition.Not;
import io.deltaforge.api.internal.condition.Condition.Operator;
import io.deltaforge.api.internal.condition.Condition.Or;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Recursive-descent parser of the grammar in {@link Condition}, over a hand-written lexer: every character
 * the grammar does not know is an error with its position, so nothing outside the grammar can pass through.
 * One instance per text; not thread-safe.
 */
final class ConditionParser {
    private static final Set<String> KEYWORDS = Set.of("and", "or", "not", "in", "between", "is", "null", "true",
            "false");
    /** SQL words that a plain identifier may not be: they would start something outside the grammar. */
    private static final Set<String> SQL_WORDS = Set.of("select", "union", "intersect", "except", "from", "where",
            "with", "values", "exists", "case", "cast", "array", "row", "like", "ilike", "similar", "any", "all",
            "some", "table", "limit", "offset", "order", "group", "having", "into", "returning", "collate");
    private static final String EXAMPLE = "e.g. id > 100 AND status IN ('open', 'held')";
    private static final String WHAT = "a condition compares columns with literals, " + EXAMPLE;

    private enum Type { WORD, QUOTED, NUMBER, STRING, OPERATOR, OPEN, CLOSE, COMMA, END }

    /** A token; {@code text} is the folded word, the unquoted name or string, the number or the symbol. */
    private record Token(Type type, String text, int position) {
        boolean is(String keyword) {
            return type == Type.WORD && text.equals(keyword);
        }
    }

    private final String input;
    private final List<Token> tokens = new ArrayList<>();
    private int next;
    /** Where the lexer goes on. */
    private int cursor;
    private int depth;

    ConditionParser(String input) {
        this.input = input;
    }

    static boolean isReserved(String folded) {
        return KEYWORDS.contains(folded) || SQL_WORDS.contains(folded);
    }

    Condition parse() {
        if (input.length() > Condition.MAX_LENGTH) {
            throw new IllegalArgumentException("is " + input.length() + " characters long; at most "
                    + Condition.MAX_LENGTH + " are allowed");
        }
        if (peek().type == Type.END) {
            throw new IllegalArgumentException("is empty; write a condition, " + EXAMPLE + ", or leave it out");
        }
        Condition c = or();
        Token end = peek();
        if (end.type != Type.END) {
            throw error(end, "unexpected " + describe(end) + " after a complete condition; combine conditions "
                    + "with AND or OR");
        }
        return c;
    }

    // ---- parser ----

    private Condition or() {
        List<Condition> parts = new ArrayList<>();
        do {
            Condition c = and();
            parts.addAll(c instanceof Or or ? or.parts() : List.of(c));
        } while (accept("or"));
        return parts.size() == 1 ? parts.get(0) : new Or(parts);
    }

    private Condition and() {
        List<Condition> parts = new ArrayList<>();
        do {
            Condition c = not();
            // A parenthesized AND inside an AND is the same condition: flattened, it prints back alike.
            parts.addAll(c instanceof And and ? and.parts() : List.of(c));
        } while (accept("and"));
        return parts.size() == 1 ? parts.get(0) : new And(parts);
    }

    private Condition not() {
        Token t = peek();
        if (t.is("not")) {
            next++;
            enter(t);
            Condition inner = not();
            depth--;
            return new Not(inner);
        }
        if (t.type == Type.OPEN) {
            next++;
            enter(t);
            Condition inner = or();
            depth--;
            expect(Type.CLOSE, "')' to close the '(' at position " + t.position);
            return inner;
        }
        return predicate();
    }

    private void enter(Token t) {
        if (++depth > Condition.MAX_DEPTH) {
            throw error(t, "nested deeper than " + Condition.MAX_DEPTH + " levels of parentheses and NOT");
        }
    }

    private Condition predicate() {
        Column column = column();
        Token t = peek();
        if (t.type == Type.OPERATOR) {
            next++;
            Operator op = switch (t.text) {
                case "=" -> Operator.EQUAL;
                case "<>", "!=" -> Operator.NOT_EQUAL;
                case "<" -> Operator.LESS;
                case "<=" -> Operator.LESS_OR_EQUAL;
                case ">" -> Operator.GREATER;
                default -> Operator.GREATER_OR_EQUAL;
            };
            return new Compare(column, op, literal("after " + op.symbol));
        }
        if (t.is("is")) {
            next++;
            boolean negated = accept("not");
            Token n = peek();
            if (!n.is("null")) {
                throw error(n, "expected NULL after IS" + (negated ? " NOT" : "") + ", found " + describe(n)
                        + "; IS takes only NULL (compare with = for other values)");
            }
            next++;
            return new IsNull(column, negated);
        }
        boolean negated = accept("not");
        Token k = peek();
        if (k.is("in")) {
            next++;
            expect(Type.OPEN, "'(' after IN");
            List<Literal> values = new ArrayList<>();
            do {
                if (values.size() == Condition.MAX_IN_LIST) {
                    throw error(peek(), "the IN list has more than " + Condition.MAX_IN_LIST + " values");
                }
                values.add(literal("in the IN list"));
            } while (acceptType(Type.COMMA));
            expect(Type.CLOSE, "',' or ')' in the IN list");
            return new In(column, negated, values);
        }
        if (k.is("between")) {
            next++;
            Literal low = literal("after BETWEEN");
            if (!accept("and")) {
                throw error(peek(), "expected AND between the bounds of BETWEEN, found " + describe(peek()));
            }
            return new Between(column, negated, low, literal("after BETWEEN … AND"));
        }
        throw error(k, "expected " + (negated ? "IN or BETWEEN after " + column.text() + " NOT" : "a comparison ("
                + Operator.symbols() + "), IN, BETWEEN or IS [NOT] NULL after column " + column.text()) + ", found "
                + describe(k));
    }

    private Column column() {
        Token t = peek();
        if (t.type == Type.QUOTED) {
            next++;
            return new Column(t.text, t.position);
        }
        if (t.type == Type.WORD) {
            if (token(next + 1).type == Type.OPEN) {
                throw error(t, "function calls such as " + t.text + "(…) are not allowed; " + WHAT);
            }
            if (SQL_WORDS.contains(t.text)) {
                throw error(t, "SQL keyword " + t.text.toUpperCase(Locale.ROOT) + " is not allowed (no "
                        + "sub-queries or other SQL); " + WHAT + "; write \"" + t.text + "\" for a column of "
                        + "that name");
            }
            if (!KEYWORDS.contains(t.text)) {
                next++;
                return new Column(t.text, t.position);
            }
        }
        throw error(t, "expected a column name, found " + describe(t) + "; " + WHAT);
    }

    private Literal literal(String where) {
        Token t = peek();
        Literal out;
        if (t.type == Type.NUMBER) {
            out = new Literal(Literal.Kind.NUMBER, t.text);
        } else if (t.type == Type.STRING) {
            out = new Literal(Literal.Kind.STRING, t.text);
        } else if (t.is("true") || t.is("false")) {
            out = new Literal(Literal.Kind.BOOLEAN, t.text);
        } else if (t.is("null")) {
            throw error(t, "NULL is not a value to compare with (nothing equals NULL); test a column with "
                    + "IS NULL or IS NOT NULL");
        } else if (t.type == Type.WORD || t.type == Type.QUOTED) {
            throw error(t, "expected a literal " + where + ", found " + describe(t) + "; only literals (numbers, "
                    + "'strings', TRUE, FALSE) go on the right-hand side, not columns or functions");
        } else {
            throw error(t, "expected a literal (a number, a 'string', TRUE or FALSE) " + where + ", found "
                    + describe(t));
        }
        next++;
        return out;
    }

    private Token peek() {
        return token(next);
    }

    /** The token at {@code index}, lexing on demand so that the first problem in the text is the one reported. */
    private Token token(int index) {
        while (tokens.size() <= index) {
            Token last = tokens.isEmpty() ? null : tokens.get(tokens.size() - 1);
            if (last != null && last.type == Type.END) {
                return last;
            }
            lexOne();
        }
        return tokens.get(index);
    }

    private boolean accept(String keyword) {
        if (peek().is(keyword)) {
            next++;
            return true;
        }
        return false;
    }

    private boolean acceptType(Type type) {
        if (peek().type == type) {
            next++;
            return true;
        }
        return false;
    }

    private void expect(Type type, String what) {
        if (!acceptType(type)) {
            throw error(peek(), "expected " + what + ", found " + describe(peek()));
        }
    }

    private static String describe(Token t) {
        return switch (t.type) {
            case END -> "the end";
            case STRING -> "the string '" + t.text.replace("'", "''") + "'";
            case QUOTED -> "\"" + t.text.replace("\"", "\"\"") + "\"";
            case WORD -> KEYWORDS.contains(t.text) ? t.text.toUpperCase(Locale.ROOT) : t.text;
            default -> "'" + t.text + "'";
        };
    }

    private IllegalArgumentException error(Token t, String problem) {
        return error(t.position, problem);
    }

    private IllegalArgumentException error(int position, String problem) {
        return new IllegalArgumentException("at position " + position + ": " + problem);
    }

    // ---- lexer ----

    /** Appends the next token (END at the end of the text). */
    private void lexOne() {
        int n = input.length();
        while (cursor < n && " \t\n\r".indexOf(input.charAt(cursor)) >= 0) {
            cursor++;
        }
        int i = cursor;
        int pos = i + 1;
        if (i == n) {
            tokens.add(new Token(Type.END, "", pos));
            return;
        }
        char ch = input.charAt(i);
        if (isWordStart(ch)) {
            while (i < n && isWordPart(input.charAt(i))) {
                i++;
            }
            if (i < n && input.charAt(i) == '$') {
                throw error(i + 1, "'$' is not allowed (no dollar quoting or parameters)");
            }
            tokens.add(new Token(Type.WORD, input.substring(cursor, i).toLowerCase(Locale.ROOT), pos));
        } else if (ch == '"') {
            int end = closing(i, '"', "quoted column name");
            String name = input.substring(i + 1, end).replace("\"\"", "\"");
            if (name.isEmpty()) {
                throw error(pos, "an empty quoted column name (\"\") names no column");
            }
            tokens.add(new Token(Type.QUOTED, name, pos));
            i = end + 1;
        } else if (ch == '\'') {
            int end = closing(i, '\'', "string");
            tokens.add(new Token(Type.STRING, input.substring(i + 1, end).replace("''", "'"), pos));
            i = end + 1;
        } else if (isDigit(ch) || (ch == '-' && i + 1 < n && isDigit(input.charAt(i + 1)))) {
            i = number(i);
        } else if (ch == '(' || ch == ')' || ch == ',') {
            tokens.add(new Token(ch == '(' ? Type.OPEN : ch == ')' ? Type.CLOSE : Type.COMMA, String.valueOf(ch), pos));
            i++;
        } else if (ch == '=' || ch == '<' || ch == '>' || ch == '!') {
            String two = i + 1 < n ? input.substring(i, i + 2) : "";
            String op = two.equals("<>") || two.equals("!=") || two.equals("<=") || two.equals(">=") ? two
                    : String.valueOf(ch);
            if (op.equals("!")) {
                throw error(pos, "'!' is not an operator here; write != or <> for not equal");
            }
            tokens.add(new Token(Type.OPERATOR, op, pos));
            i += op.length();
        } else {
            throw error(pos, unexpected(i));
        }
        cursor = i;
    }

    private String unexpected(int i) {
        char ch = input.charAt(i);
        String pair = i + 1 < input.length() ? input.substring(i, i + 2) : "";
        if (pair.equals("--") || pair.equals("/*")) {
            return "comments ('" + pair + "') are not allowed";
        }
        if (pair.equals("::")) {
            return "casts ('::') are not allowed; write the literal as text the column's type reads, e.g. "
                    + "created_at > '2026-01-01T00:00:00Z'";
        }
        return switch (ch) {
            case ';' -> "';' is not allowed: a condition is one expression, not statements";
            case '$' -> "'$' is not allowed (no dollar quoting or parameters)";
            case '.' -> "'.' is not allowed: name a column alone (no table prefix), and write decimals with a "
                    + "leading digit (0.5)";
            case '-', '+', '*', '/', '%', '^', '|', '&', '~', '#', '@', '?', ':', '[', ']', '{', '}', '\\' ->
                    "'" + ch + "' is not allowed: no arithmetic or other operators; " + WHAT;
            default -> Character.isISOControl(ch) ? "control character U+" + String.format("%04X", (int) ch)
                    + " is not allowed" : "unexpected character '" + ch + "'; " + WHAT;
        };
    }

    /** The index of the quote closing the one at {@code open} ({@code qq} inside is an escaped quote). */
    private int closing(int open, char quote, String what) {
        int i = open + 1;
        while (i < input.length()) {
            if (input.charAt(i) == quote) {
                if (i + 1 < input.length() && input.charAt(i + 1) == quote) {
                    i += 2;
                    continue;
                }
                return i;
            }
            i++;
        }
        throw error(open + 1, "the " + what + " starting here is not closed; end it with " + quote
                + " (write " + quote + quote + " for a " + quote + " inside)");
    }

    /** Lexes {@code [-]digits[.digits][e[+-]digits]} starting at {@code start}; returns the index after it. */
    private int number(int start) {
        int i = start;
        if (input.charAt(i) == '-') {
            i++;
        }
        i = digits(i);
        if (i < input.length() && input.charAt(i) == '.') {
            int after = digits(i + 1);
            if (after == i + 1) {
                throw error(start + 1, "malformed number: write digits after the '.'");
            }
            i = after;
        }
        if (i < input.length() && (input.charAt(i) == 'e' || input.charAt(i) == 'E')) {
            int j = i + 1;
            if (j < input.length() && (input.charAt(j) == '+' || input.charAt(j) == '-')) {
                j++;
            }
            int after = digits(j);
            if (after == j) {
                throw error(start + 1, "malformed number: write digits after the exponent's 'e'");
            }
            i = after;
        }
        if (i < input.length() && (isWordPart(input.charAt(i)) || input.charAt(i) == '.')) {
            throw error(start + 1, "malformed number " + input.substring(start, i + 1) + "…; separate it from "
                    + "what follows with a space");
        }
        tokens.add(new Token(Type.NUMBER, input.substring(start, i), start + 1));
        return i;
    }

    private int digits(int i) {
        while (i < input.length() && isDigit(input.charAt(i))) {
            i++;
        }
        return i;
    }

    private static boolean isDigit(char ch) {
        return ch >= '0' && ch <= '9';
    }

    private static boolean isWordStart(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
    }

    private static boolean isWordPart(char ch) {
        return isWordStart(ch) || isDigit(ch);
    }
}
