package io.deltaforge.yaml.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/configuration.md documents exactly the keys that are accepted: the loader's own (from
 * {@link CoreSchema}, which the loader reads its keys from) and each built-in provider's (asked from the
 * provider itself, see {@link ProviderKeys}). A key added to either without a row in the reference fails
 * here, and so does a row for a key that no longer exists.
 */
class ConfigurationReferenceTest {
    static final Path DOC = Path.of("..", "docs", "configuration.md");
    private static final Pattern ROW = Pattern.compile("^\\| `([^`]+)` \\|", Pattern.MULTILINE);

    /** The text from a heading line to the next heading of the same or a higher level. */
    static String section(String doc, String heading) {
        int level = heading.indexOf(' ');
        int start = doc.indexOf("\n" + heading + "\n");
        assertThat(start).as("the reference has a section '%s'", heading).isNotNegative();
        int end = doc.length();
        Matcher next = Pattern.compile("\n#{1," + level + "} ").matcher(doc);
        if (next.find(start + heading.length() + 1)) {
            end = next.start();
        }
        return doc.substring(start, end);
    }

    static Set<String> rows(String text) {
        Set<String> keys = new LinkedHashSet<>();
        Matcher m = ROW.matcher(text);
        while (m.find()) {
            keys.add(m.group(1));
        }
        return keys;
    }

    static List<String> coreKeys() {
        List<String> keys = new ArrayList<>();
        CoreSchema.sections().forEach((path, sectionKeys) ->
                sectionKeys.forEach(k -> keys.add(path.isEmpty() ? k : path + "." + k)));
        return keys;
    }

    static String heading(ProviderKeys.Keys p) {
        String kind = p.kind().substring(0, 1).toUpperCase(Locale.ROOT) + p.kind().substring(1);
        return "### " + kind + " `" + p.type() + "`";
    }

    @Test
    void everyKeyTheLoaderAcceptsHasARowAndEveryRowIsAKeyTheLoaderAccepts() throws IOException {
        Set<String> documented = rows(section(Files.readString(DOC), "## Core keys"));

        assertThat(documented).as("rows of '## Core keys' in " + DOC).containsExactlyInAnyOrderElementsOf(coreKeys());
    }

    @Test
    void everyKeyOfEveryBuiltInProviderHasARowInItsSection() throws IOException {
        String doc = Files.readString(DOC);
        List<ProviderKeys.Keys> providers = ProviderKeys.builtIn();
        assertThat(providers).extracting(ProviderKeys.Keys::type)
                .contains("postgres", "nats", "cloudevents", "native", "debezium");

        for (ProviderKeys.Keys p : providers) {
            assertThat(rows(section(doc, heading(p))))
                    .as("rows of '%s' in %s (the keys %s '%s' accepts)", heading(p), DOC, p.kind(), p.type())
                    .containsExactlyInAnyOrderElementsOf(p.keys());
        }
    }
}
