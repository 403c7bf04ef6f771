package io.deltaforge.nats.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile table and schema names, and hostile templates: a template either is a config problem at parse time,
 * or renders, for every event, a valid publish subject (non-empty tokens, no whitespace, no control characters,
 * no wildcards) with the template's token count, captured by the template's own wildcard filter.
 *
 * <p>Property tests: each case draws its input from {@code new Random(seed)}. The seeds are fixed, so every run
 * tries the same cases, and a failure's name reproduces it: {@code seed N} in the IDE and the surefire XML
 * report ({@code [k]}, the k-th seed, on Maven's console). Rerun the test, or return only N
 * from {@link #seeds()} while debugging.
 */
class SubjectTemplatePropertyTest {
    private static final long BASE_SEED = 0x5EED_5B1EL;
    private static final int TRIES = 500;
    /** Lone surrogates included: "😀" adds its two halves as separate characters. */
    private static final String NAME_CHARS = ".*> \t\r\n\u0000\u0007\u007F\u0085\u00A0\u2028\u3000{}$" + "ab_-"
            + range('\u00C0', '\u00FF') + "日本😀";
    private static final List<String> PIECES = List.of("{schema}", "{table}", "{op}", "{tenant}", ".", "${X}", "{",
            "}", "*", ">", " ", "\u0000", "\u0001", "\u00A0", "a", "é", "_", "$");
    private static final String ALPHA = range('a', 'z') + range('A', 'Z');

    static LongStream seeds() {
        return LongStream.concat(LongStream.of(BASE_SEED), new Random(BASE_SEED).longs(TRIES - 1));
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void anyNameRendersAValidSubjectOfTheTemplatesShape(long seed) {
        Random random = new Random(seed);
        Op[] ops = Op.values();
        rendersAValidSubjectOfTheTemplatesShape(name(random), name(random), ops[random.nextInt(ops.length)]);
    }

    /** Names made only of what a subject cannot hold, which random names seldom are. */
    @ParameterizedTest(name = "case {index}")
    @ValueSource(strings = {"", ".", "..", "*", ">", " ", "\t", "\u0000", "\u2028", "{}", "\uD83D"})
    void edgeCaseNamesRenderAValidSubjectOfTheTemplatesShape(String name) {
        for (Op op : Op.values()) {
            rendersAValidSubjectOfTheTemplatesShape(name, name, op);
        }
    }

    private static void rendersAValidSubjectOfTheTemplatesShape(String schema, String table, Op op) {
        SubjectTemplate template = parse("cdc.{tenant}.{schema}.{table}.{op}", "acme");
        String subject = template.render(event(new TableId(schema, table), op));
        assertValid(template, subject);
        assertThat(subject.split("\\.", -1)).hasSize(5);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void anyTemplateIsAProblemOrRendersValidSubjects(long seed) {
        Random random = new Random(seed);
        String text = template(random);
        String schema = name(random);
        String table = name(random);
        List<String> problems = new ArrayList<>();
        SubjectTemplate template = SubjectTemplate.parse(text, "acme", problems);
        if (!problems.isEmpty()) {
            assertThat(problems).allSatisfy(p -> assertThat(p).isNotBlank());
            return;
        }
        String subject = template.render(event(new TableId(schema, table), Op.CREATE));
        assertValid(template, subject);
    }

    private static String name(Random random) {
        char[] out = new char[random.nextInt(13)];
        for (int i = 0; i < out.length; i++) {
            out[i] = NAME_CHARS.charAt(random.nextInt(NAME_CHARS.length()));
        }
        return new String(out);
    }

    /** Up to 8 pieces: placeholders, separators, wildcards, control characters, or 1 to 3 letters. */
    private static String template(Random random) {
        StringBuilder out = new StringBuilder();
        for (int pieces = random.nextInt(9); pieces > 0; pieces--) {
            if (random.nextBoolean()) {
                out.append(PIECES.get(random.nextInt(PIECES.size())));
            } else {
                for (int letters = 1 + random.nextInt(3); letters > 0; letters--) {
                    out.append(ALPHA.charAt(random.nextInt(ALPHA.length())));
                }
            }
        }
        return out.toString();
    }

    private static String range(char first, char last) {
        StringBuilder out = new StringBuilder();
        for (char c = first; c <= last; c++) {
            out.append(c);
        }
        return out.toString();
    }

    private static void assertValid(SubjectTemplate template, String subject) {
        assertThat(Subjects.problemWithPublishSubject(subject)).as(subject).isEmpty();
        assertThat(subject.chars().noneMatch(Character::isISOControl)).as(subject).isTrue();
        assertThat(Subjects.matches(template.wildcard(), subject)).as(template.wildcard() + " captures " + subject)
                .isTrue();
    }

    private static SubjectTemplate parse(String text, String tenant) {
        List<String> problems = new ArrayList<>();
        SubjectTemplate t = SubjectTemplate.parse(text, tenant, problems);
        assertThat(problems).isEmpty();
        return t;
    }

    private static ChangeEvent event(TableId table, Op op) {
        return new ChangeEvent("id", "src", op, table, null, null,
                new SourcePosition(new Lsn(2), new Lsn(1), 0, 5, Instant.EPOCH));
    }
}
