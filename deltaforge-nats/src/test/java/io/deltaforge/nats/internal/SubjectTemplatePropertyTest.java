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
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Hostile table and schema names, and hostile templates: a template either is a config problem at parse time,
 * or renders, for every event, a valid publish subject (non-empty tokens, no whitespace, no control characters,
 * no wildcards) with the template's token count, captured by the template's own wildcard filter.
 */
class SubjectTemplatePropertyTest {
    @Provide
    Arbitrary<String> names() {
        return Arbitraries.strings().withChars(".*> \t\r\n\u0000\u0007\u007F\u0085\u00A0\u2028\u3000{}$")
                .withChars("ab_-").withCharRange('\u00C0', '\u00FF').withChars("日本😀").ofMaxLength(12);
    }

    @Provide
    Arbitrary<String> templates() {
        Arbitrary<String> piece = Arbitraries.oneOf(Arbitraries.of("{schema}", "{table}", "{op}", "{tenant}", ".",
                "${X}", "{", "}", "*", ">", " ", "\u0000", "\u0001", "\u00A0", "a", "é", "_", "$"),
                Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(3));
        return piece.list().ofMaxSize(8).map(parts -> String.join("", parts));
    }

    @Property(tries = 500)
    void anyNameRendersAValidSubjectOfTheTemplatesShape(@ForAll("names") String schema, @ForAll("names") String table,
                                                        @ForAll Op op) {
        SubjectTemplate template = parse("cdc.{tenant}.{schema}.{table}.{op}", "acme");
        String subject = template.render(event(new TableId(schema, table), op));
        assertValid(template, subject);
        assertThat(subject.split("\\.", -1)).hasSize(5);
    }

    @Property(tries = 500)
    void anyTemplateIsAProblemOrRendersValidSubjects(@ForAll("templates") String text, @ForAll("names") String schema,
                                                     @ForAll("names") String table) {
        List<String> problems = new ArrayList<>();
        SubjectTemplate template = SubjectTemplate.parse(text, "acme", problems);
        if (!problems.isEmpty()) {
            assertThat(problems).allSatisfy(p -> assertThat(p).isNotBlank());
            return;
        }
        String subject = template.render(event(new TableId(schema, table), Op.CREATE));
        assertValid(template, subject);
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
