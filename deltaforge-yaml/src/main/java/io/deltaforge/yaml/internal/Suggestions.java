package io.deltaforge.yaml.internal;

import java.util.Collection;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** "Did you mean" hints for misspelt keys and type names. */
final class Suggestions {
    private static final int MAX_DISTANCE = 2;

    private Suggestions() {
    }

    /**
     * The closest candidate within edit distance 2 and shorter than the word (case-insensitive), or null;
     * ties go to the first.
     */
    static @Nullable String closest(String word, Collection<String> candidates) {
        String best = null;
        int bestDistance = MAX_DISTANCE + 1;
        String w = word.toLowerCase(Locale.ROOT);
        for (String c : candidates) {
            int d = distance(w, c.toLowerCase(Locale.ROOT));
            // A two-letter word is two edits from any other: only suggest when something of it remains.
            if (d < bestDistance && d < w.length()) {
                best = c;
                bestDistance = d;
            }
        }
        return best;
    }

    /** {@code "; did you mean 'x'?"} or "". */
    static String hint(String word, Collection<String> candidates) {
        String c = closest(word, candidates);
        return c == null || c.equals(word) ? "" : "; did you mean '" + c + "'?";
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
