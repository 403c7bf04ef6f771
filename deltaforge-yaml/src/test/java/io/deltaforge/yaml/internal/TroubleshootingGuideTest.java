package io.deltaforge.yaml.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * docs/troubleshooting.md quotes only messages the code writes: every {@code `text`} of a "Message contains"
 * paragraph must occur in the main sources of some module.
 */
class TroubleshootingGuideTest {
    private static final Path GUIDE = Path.of("..", "docs", "troubleshooting.md");
    private static final Pattern QUOTED = Pattern.compile("`([^`]+)`");

    @Test
    void everyQuotedMessageIsWrittenByTheCode() throws IOException {
        List<String> fragments = quotedMessages(Files.readAllLines(GUIDE));
        assertThat(fragments).hasSizeGreaterThan(20);
        String sources = mainSources();
        for (String fragment : fragments) {
            assertThat(sources).as("'%s' quoted in %s but written by no main source", fragment, GUIDE)
                    .contains(fragment);
        }
    }

    static List<String> quotedMessages(List<String> lines) {
        List<String> out = new ArrayList<>();
        boolean inParagraph = false;
        for (String line : lines) {
            inParagraph = line.startsWith("Message contains") || inParagraph && !line.isBlank();
            if (inParagraph) {
                Matcher m = QUOTED.matcher(line);
                while (m.find()) {
                    out.add(m.group(1));
                }
            }
        }
        return out;
    }

    private static String mainSources() throws IOException {
        StringBuilder all = new StringBuilder();
        try (Stream<Path> modules = Files.list(Path.of(".."))) {
            for (Path module : modules.filter(p -> p.getFileName().toString().startsWith("deltaforge-")).toList()) {
                Path main = module.resolve("src/main/java");
                if (!Files.isDirectory(main)) {
                    continue;
                }
                try (Stream<Path> files = Files.walk(main)) {
                    files.filter(p -> p.toString().endsWith(".java")).forEach(p -> {
                        try {
                            all.append(Files.readString(p)).append('\n');
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    });
                }
            }
        }
        return all.toString();
    }
}
