package io.deltaforge.yaml.internal;

import io.deltaforge.api.DeltaforgeException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** One-line descriptions of exceptions, for the console: no stack traces, no line breaks. */
public final class Causes {
    private Causes() {
    }

    /** The cause behind the wrappers that futures add. */
    public static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    /**
     * Our own exceptions by message (they are written for people); others as {@code Type: message}; plus
     * the root cause when it says something the message does not.
     */
    public static String oneLine(Throwable t) {
        Throwable e = unwrap(t);
        StringBuilder b = new StringBuilder(describe(e));
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != e) {
            String r = describe(root);
            if (!b.toString().contains(r)) {
                b.append(" (caused by ").append(r).append(')');
            }
        }
        return YamlReader.oneLine(b.toString());
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        if (e instanceof DeltaforgeException && m != null && !m.isBlank()) {
            return m;
        }
        return m == null || m.isBlank() ? e.getClass().getName() : e.getClass().getSimpleName() + ": " + m;
    }
}
