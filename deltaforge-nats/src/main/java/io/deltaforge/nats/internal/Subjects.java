package io.deltaforge.nats.internal;

/**
 * NATS subject rules as the server applies them: tokens separated by {@code .}, {@code *} matching
 * exactly one token, {@code >} (last token only) matching one or more trailing tokens.
 */
public final class Subjects {
    private Subjects() {
    }

    /** Whether {@code subject} (a literal subject) is captured by {@code filter} (may hold wildcards). */
    public static boolean matches(String filter, String subject) {
        String[] f = filter.split("\\.", -1);
        String[] s = subject.split("\\.", -1);
        for (int i = 0; i < f.length; i++) {
            if (f[i].equals(">")) {
                // '>' needs at least one token left, and only counts as the last token of a filter.
                return i == f.length - 1 && s.length > i;
            }
            if (i >= s.length) {
                return false;
            }
            if (!f[i].equals("*") && !f[i].equals(s[i])) {
                return false;
            }
        }
        return f.length == s.length;
    }

    /**
     * Whether every subject that {@code pattern} matches (literal tokens and {@code *}, no {@code >}) is
     * captured by {@code filter}: {@code users.>} covers {@code users.events.*}, {@code users.events.a}
     * does not.
     */
    public static boolean covers(String filter, String pattern) {
        String[] f = filter.split("\\.", -1);
        String[] p = pattern.split("\\.", -1);
        for (int i = 0; i < f.length; i++) {
            if (f[i].equals(">")) {
                return i == f.length - 1 && p.length > i;
            }
            if (i >= p.length) {
                return false;
            }
            if (f[i].equals("*")) {
                continue;
            }
            if (p[i].equals("*") || !f[i].equals(p[i])) {
                return false;
            }
        }
        return f.length == p.length;
    }

    /**
     * Why {@code subject} cannot be published to: it must be non-empty tokens
     * without wildcards, whitespace or control characters. Empty when the subject is fine.
     */
    public static String problemWithPublishSubject(String subject) {
        if (subject.isBlank()) {
            return "is required";
        }
        for (int i = 0; i < subject.length(); i++) {
            char c = subject.charAt(i);
            if (Character.isWhitespace(c)) {
                return "'" + subject + "' contains whitespace; use tokens separated by dots, e.g. users.events";
            }
            if (Character.isISOControl(c)) {
                return "'" + subject + "' contains a control character (U+"
                        + String.format("%04X", (int) c) + "); use printable tokens separated by dots, e.g. users.events";
            }
        }
        for (String token : subject.split("\\.", -1)) {
            if (token.isEmpty()) {
                return "'" + subject + "' has an empty token; use tokens separated by single dots, e.g. users.events";
            }
            if (token.equals("*") || token.equals(">")) {
                return "'" + subject + "' contains a wildcard; a publish subject must be literal, e.g. users.events";
            }
        }
        return "";
    }

    /** Why {@code filter} is not a valid stream subject filter, or empty when it is. */
    public static String problemWithFilter(String filter) {
        if (filter.isBlank() || filter.chars().anyMatch(Character::isWhitespace)) {
            return "'" + filter + "' is not a subject filter; use tokens separated by dots, e.g. users.>";
        }
        String[] tokens = filter.split("\\.", -1);
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i].isEmpty() || (tokens[i].equals(">") && i != tokens.length - 1)) {
                return "'" + filter + "' is not a subject filter; tokens must be non-empty and '>' may only be last";
            }
        }
        return "";
    }

    /** Why {@code name} is not a valid stream name, or empty when it is. */
    public static String problemWithStreamName(String name) {
        if (name.isBlank()) {
            return "is required";
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (Character.isWhitespace(c) || c == '.' || c == '*' || c == '>' || c == '/' || c == '\\') {
                return "'" + name + "' is not a valid stream name; it may not contain whitespace, '.', '*', '>', "
                        + "'/' or '\\', e.g. USERS";
            }
        }
        return "";
    }
}
