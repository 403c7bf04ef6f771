package io.deltaforge.yaml;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Hostile YAML: whatever the text, loading ends within a time limit with definitions or a
 * {@link YamlConfigException}; alias bombs, deep nesting and huge documents are refused with a message
 * that says why, never expanded, never a StackOverflowError or OutOfMemoryError.
 */
class HostileYamlPropertyTest {
    private static final Duration LIMIT = Duration.ofSeconds(10);
    private static ExecutorService worker;

    @BeforeContainer
    static void startWorker() {
        worker = Executors.newSingleThreadExecutor();
    }

    @AfterContainer
    static void stopWorker() {
        worker.shutdownNow();
    }

    @Provide
    Arbitrary<String> garbage() {
        Arbitrary<String> prefix = Arbitraries.of("", "apiVersion: deltaforge/v1\nkind: Pipeline\n", "---\n",
                PipelineConfigLoaderTest.VALID);
        Arbitrary<String> body = Arbitraries.strings().withChars(":-[]{},&*!|>'\"#%@`?\n\t \\$").withChars("abk01")
                .withCharRange('\u00A0', '\u00FF').withChars("\u0000\uFEFF😀\u2028").ofMaxLength(120);
        return Combinators.combine(prefix, body).as(String::concat);
    }

    @Property(tries = 500)
    void anyTextLoadsOrIsAYamlConfigException(@ForAll("garbage") String text) {
        loadOrFailClearly(text);
    }

    /** "Billion laughs": each level refers to the one before {@code width} times. */
    @Property(tries = 20)
    void aliasBombsAreRefusedNotExpanded(@ForAll @IntRange(min = 1, max = 30) int levels,
                                         @ForAll @IntRange(min = 1, max = 20) int width) {
        StringBuilder yaml = new StringBuilder("a0: &a0 [lol, lol]\n");
        for (int i = 1; i <= levels; i++) {
            yaml.append('a').append(i).append(": &a").append(i).append(" [");
            for (int j = 0; j < width; j++) {
                yaml.append(j == 0 ? "" : ", ").append("*a").append(i - 1);
            }
            yaml.append("]\n");
        }
        YamlConfigException e = loadOrFailClearly(PipelineConfigLoaderTest.VALID + yaml);
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("alias");
    }

    @Property(tries = 30)
    void deepNestingIsRefusedWithoutExhaustingTheStack(@ForAll @IntRange(min = 1, max = 50_000) int depth,
                                                       @ForAll("nestings") String style) {
        StringBuilder yaml = new StringBuilder(PipelineConfigLoaderTest.VALID).append("extra: ");
        switch (style) {
            case "flow-list" -> yaml.append("[".repeat(depth)).append("]".repeat(depth));
            case "flow-map" -> yaml.append("{a: ".repeat(depth)).append("}".repeat(depth));
            default -> {
                yaml.append('\n');
                for (int i = 1; i <= Math.min(depth, 2_000); i++) {
                    yaml.append(" ".repeat(i)).append("a:\n");
                }
            }
        }
        YamlConfigException e = loadOrFailClearly(yaml.toString());
        assertThat(e).isNotNull();
        if (depth > 200 && !style.equals("block")) {
            assertThat(e.getMessage()).contains("nest");
        }
    }

    @Provide
    Arbitrary<String> nestings() {
        return Arbitraries.of("flow-list", "flow-map", "block");
    }

    @Property(tries = 3)
    void hugeDocumentsAreRefusedNamingTheLimit(@ForAll @IntRange(min = 4, max = 16) int megabytes) {
        String filler = "# " + "x".repeat(1021) + "\n";
        String yaml = PipelineConfigLoaderTest.VALID + filler.repeat(megabytes * 1024);
        YamlConfigException e = loadOrFailClearly(yaml);
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("too large");
    }

    @Property(tries = 1)
    void aliasesAreNotReadAsTheirNames() {
        String yaml = PipelineConfigLoaderTest.VALID.replace("dsn: postgres://localhost/db", "dsn: *url")
                + "urls:\n  - &url postgres://localhost/db\n";
        assertThatThrownBy(() -> PipelineConfigLoader.create().withEnvironment(k -> null).definitions(yaml, "t.yaml"))
                .isInstanceOf(YamlConfigException.class)
                .hasMessageContaining("alias");
    }

    /** Loads within {@link #LIMIT}; returns the YamlConfigException, or null when the text loaded. */
    private static YamlConfigException loadOrFailClearly(String text) {
        Future<YamlConfigException> run = worker.submit(() -> {
            try {
                PipelineConfigLoader.create().withEnvironment(k -> null).definitions(text, "fuzz.yaml");
                return null;
            } catch (YamlConfigException e) {
                return e;
            }
        });
        try {
            return run.get(LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            run.cancel(true);
            return fail("loading did not finish within " + LIMIT + ": " + text.substring(0, Math.min(200, text.length())));
        } catch (ExecutionException e) {
            return fail("loading failed with " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fail("interrupted");
        }
    }
}
