package io.deltaforge.yaml.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Replaces {@code ${VAR}} and {@code ${VAR:-default}} in string values with environment variables, and
 * {@code ${file:/path}} with a file's content (trailing line breaks removed, see {@link SecretFiles});
 * {@code $${} stays a literal {@code ${}. It runs on parsed values, never on the YAML text, so a value
 * full of quotes, colons or newlines cannot change the document's structure.
 *
 * <p>As in the shell, the default applies when the variable is unset or empty.
 *
 * <p>It remembers the secrets it put in, so that messages can hide them ({@link #secrets()}): everything
 * read from a file, and variables used in keys named like a password, token or secret.
 */
final class Interpolator {
    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final String FILE = "file:";
    private static final Pattern SECRET_KEY = Pattern.compile("(?i).*(password|token|secret).*");
    /** Shorter values are not hidden: replacing every "ab" in a message would hide the message instead. */
    private static final int MIN_HIDDEN_LENGTH = 4;

    private final Function<String, @Nullable String> env;
    private final Set<String> secrets = new HashSet<>();

    Interpolator(Function<String, @Nullable String> env) {
        this.env = Objects.requireNonNull(env, "env");
    }

    /** A copy of the tree with every string interpolated; each failure becomes a problem at its path. */
    Node apply(Node node, String path, Reporter problems) {
        if (node instanceof Node.MapNode map) {
            Map<String, Node> out = new LinkedHashMap<>();
            map.entries().forEach((k, v) -> out.put(k, apply(v, YamlPaths.child(path, k), problems)));
            return new Node.MapNode(out, map.keyLocations(), map.location());
        }
        if (node instanceof Node.ListNode list) {
            List<Node> out = new ArrayList<>();
            for (int i = 0; i < list.items().size(); i++) {
                out.add(apply(list.items().get(i), YamlPaths.item(path, i), problems));
            }
            return new Node.ListNode(out, list.location());
        }
        Node.ScalarNode scalar = (Node.ScalarNode) node;
        if (!(scalar.value() instanceof String s) || !s.contains("$")) {
            return scalar;
        }
        List<String> errors = new ArrayList<>();
        String result = interpolate(s, errors, SECRET_KEY.matcher(YamlPaths.lastKey(path)).matches());
        for (String e : errors) {
            problems.problem(path, e);
        }
        return new Node.ScalarNode(result, scalar.location());
    }

    /** The values put in so far that messages must not show. */
    Set<String> secrets() {
        return Collections.unmodifiableSet(secrets);
    }

    String interpolate(String s, List<String> errors) {
        return interpolate(s, errors, false);
    }

    /**
     * Interpolates one string.
     *
     * @param errors receives one message per reference that cannot be resolved
     * @param secret  whether the string is the value of a secret key: what variables put in is remembered
     */
    private String interpolate(String s, List<String> errors, boolean secret) {
        StringBuilder out = new StringBuilder(s.length());
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '$' && s.startsWith("$${", i)) {
                out.append("${");
                i += 3;
            } else if (c == '$' && s.startsWith("${", i)) {
                int close = s.indexOf('}', i + 2);
                if (close < 0) {
                    errors.add("'${' has no closing '}'; write ${NAME}, or $${ for a literal ${");
                    out.append(s, i, s.length());
                    break;
                }
                String body = s.substring(i + 2, close);
                boolean fromFile = body.startsWith(FILE);
                String value = fromFile ? readFile(body.substring(FILE.length()), errors) : resolve(body, errors);
                if ((fromFile || secret) && value.length() >= MIN_HIDDEN_LENGTH) {
                    secrets.add(value);
                }
                out.append(value);
                i = close + 1;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    private static String readFile(String file, List<String> errors) {
        if (file.isBlank()) {
            errors.add("'${file:}' names no file; write ${file:/run/secrets/NAME}");
            return "";
        }
        try {
            return SecretFiles.read(file);
        } catch (IllegalArgumentException e) {
            errors.add(e.getMessage());
            return "";
        }
    }

    private String resolve(String body, List<String> errors) {
        int sep = body.indexOf(":-");
        String name = sep < 0 ? body : body.substring(0, sep);
        if (!NAME.matcher(name).matches()) {
            errors.add("'${" + body + "}' is not a variable reference; write ${NAME} or ${NAME:-default} "
                    + "(letters, digits, _), or $${ for a literal ${");
            return "";
        }
        String value = env.apply(name);
        if (sep >= 0) {
            return value == null || value.isEmpty() ? body.substring(sep + 2) : value;
        }
        if (value == null) {
            errors.add("environment variable " + name + " is not set; export it or write ${" + name
                    + ":-default}");
            return "";
        }
        return value;
    }
}
