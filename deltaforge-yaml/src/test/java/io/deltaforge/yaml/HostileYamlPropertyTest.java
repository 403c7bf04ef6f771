package io.deltaforge.yaml;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.deltaforge.yaml.fixtures.SampleConfigs;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile YAML: whatever the text, loading ends within a time limit with definitions or a
 * {@link YamlConfigException}; alias bombs, deep nesting and huge documents are refused with a message
 * that says why, never expanded, never a StackOverflowError or OutOfMemoryError.
 *
 * <p>Property tests: each case draws its input from {@code new Random(seed)}. The seeds are fixed, so every run
 * tries the same cases, and a failure's name reproduces it: {@code seed N} in the IDE and the surefire XML
 * report ({@code [k]}, the k-th seed, on Maven's console). Rerun the test, or return only N
 * from the seed method while debugging. The generators' bounds are fixed cases of their own.
 */
class HostileYamlPropertyTest {
    private static final long BASE_SEED = 0x5EED_7A11L;
    private static final Duration LIMIT = Duration.ofSeconds(10);
    private static final List<String> PREFIXES = List.of("", "apiVersion: deltaforge/v1\nkind: Pipeline\n", "---\n",
            SampleConfigs.VALID);
    /** Lone surrogates included: "😀" adds its two halves as separate characters. */
    private static final String BODY_CHARS = ":-[]{},&*!|>'\"#%@`?\n\t \\$" + "abk01" + range('\u00A0', '\u00FF')
            + "\u0000\uFEFF😀\u2028";
    private static final List<String> NESTINGS = List.of("flow-list", "flow-map", "block");
    private static ExecutorService worker;

    @BeforeAll
    static void startWorker() {
        worker = Executors.newSingleThreadExecutor();
    }

    @AfterAll
    static void stopWorker() {
        worker.shutdownNow();
    }

    static LongStream seeds(int tries) {
        return LongStream.concat(LongStream.of(BASE_SEED), new Random(BASE_SEED).longs(tries - 1));
    }

    static LongStream textSeeds() {
        return seeds(500);
    }

    static LongStream aliasBombSeeds() {
        return seeds(20);
    }

    static LongStream nestingSeeds() {
        return seeds(30);
    }

    static LongStream hugeDocumentSeeds() {
        return seeds(3);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("textSeeds")
    void anyTextLoadsOrIsAYamlConfigException(long seed) {
        Random random = new Random(seed);
        StringBuilder text = new StringBuilder(PREFIXES.get(random.nextInt(PREFIXES.size())));
        for (int n = random.nextInt(121); n > 0; n--) {
            text.append(BODY_CHARS.charAt(random.nextInt(BODY_CHARS.length())));
        }
        loadOrFailClearly(text.toString());
    }

    @ParameterizedTest(name = "case {index}")
    @ValueSource(strings = {"", "---\n", "\u0000", "\uFEFF", "*", "&", "!", "%", "@", "`", "?", "{", "[", "|", ">"})
    void edgeCaseTextLoadsOrIsAYamlConfigException(String text) {
        loadOrFailClearly(text);
        loadOrFailClearly(SampleConfigs.VALID + text);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("aliasBombSeeds")
    void aliasBombsAreRefusedNotExpanded(long seed) {
        Random random = new Random(seed);
        aliasBombIsRefused(1 + random.nextInt(30), 1 + random.nextInt(20));
    }

    @ParameterizedTest(name = "{0} levels of {1}")
    @CsvSource({"1, 1", "1, 20", "30, 1", "30, 20"})
    void boundaryAliasBombsAreRefusedNotExpanded(int levels, int width) {
        aliasBombIsRefused(levels, width);
    }

    /** "Billion laughs": each level refers to the one before {@code width} times. */
    private static void aliasBombIsRefused(int levels, int width) {
        StringBuilder yaml = new StringBuilder("a0: &a0 [lol, lol]\n");
        for (int i = 1; i <= levels; i++) {
            yaml.append('a').append(i).append(": &a").append(i).append(" [");
            for (int j = 0; j < width; j++) {
                yaml.append(j == 0 ? "" : ", ").append("*a").append(i - 1);
            }
            yaml.append("]\n");
        }
        YamlConfigException e = loadOrFailClearly(SampleConfigs.VALID + yaml);
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("alias");
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("nestingSeeds")
    void deepNestingIsRefusedWithoutExhaustingTheStack(long seed) {
        Random random = new Random(seed);
        deepNestingIsRefused(1 + random.nextInt(50_000), NESTINGS.get(random.nextInt(NESTINGS.size())));
    }

    /** The bounds of the depth, and either side of where the nesting limit must have been met. */
    @ParameterizedTest(name = "{1} {0} deep")
    @CsvSource({"1, flow-list", "1, flow-map", "1, block", "201, flow-list", "201, flow-map", "201, block",
            "50000, flow-list", "50000, flow-map", "50000, block"})
    void boundaryNestingIsRefusedWithoutExhaustingTheStack(int depth, String style) {
        deepNestingIsRefused(depth, style);
    }

    private static void deepNestingIsRefused(int depth, String style) {
        StringBuilder yaml = new StringBuilder(SampleConfigs.VALID).append("extra: ");
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

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("hugeDocumentSeeds")
    void hugeDocumentsAreRefusedNamingTheLimit(long seed) {
        hugeDocumentIsRefused(4 + new Random(seed).nextInt(13));
    }

    @ParameterizedTest(name = "{0} MB")
    @ValueSource(ints = {4, 16})
    void boundaryHugeDocumentsAreRefusedNamingTheLimit(int megabytes) {
        hugeDocumentIsRefused(megabytes);
    }

    private static void hugeDocumentIsRefused(int megabytes) {
        String filler = "# " + "x".repeat(1021) + "\n";
        String yaml = SampleConfigs.VALID + filler.repeat(megabytes * 1024);
        YamlConfigException e = loadOrFailClearly(yaml);
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("too large");
    }

    @Test
    void aliasesAreNotReadAsTheirNames() {
        String yaml = SampleConfigs.VALID.replace("dsn: postgres://localhost/db", "dsn: *url")
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

    private static String range(char first, char last) {
        StringBuilder out = new StringBuilder();
        for (char c = first; c <= last; c++) {
            out.append(c);
        }
        return out.toString();
    }
}
