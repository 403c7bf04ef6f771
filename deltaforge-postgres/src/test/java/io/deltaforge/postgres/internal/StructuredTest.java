package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StructuredTest {
    private static final ValueParser LONG = Scalars::integer;
    private static final ValueParser TEXT = ValueParser.TEXT;

    @Test
    void arraysHandleQuotingEscapingAndNullElements() {
        ValueParser texts = Structured.array(TEXT, ',');
        assertThat(texts.parse("{a,\"b c\",\"NULL\",NULL,null,\"q\\\"x\",\"b\\\\s\",\"\",\"{}\",\"x,y\"}"))
                .isEqualTo(Arrays.asList("a", "b c", "NULL", null, null, "q\"x", "b\\s", "", "{}", "x,y"));
        assertThat(texts.parse("{}")).isEqualTo(List.of());
        assertThat(texts.parse("{\"tab\there\",✓,😀}")).isEqualTo(List.of("tab\there", "✓", "😀"));
    }

    @Test
    void escapesKeepTheCharactersAroundThemInQuotedAndUnquotedElements() {
        ValueParser texts = Structured.array(TEXT, ',');
        assertThat(texts.parse("{ab\\,cd,\\\\x,\"lead\\\"mid\\\\end\",\"\\\"\"}"))
                .isEqualTo(List.of("ab,cd", "\\x", "lead\"mid\\end", "\""));
        assertThat(texts.parse("{{a,NULL},{\"NULL\",\\N}}"))
                .isEqualTo(List.of(Arrays.asList("a", null), List.of("NULL", "N")));
        assertThatThrownBy(() -> texts.parse("{a\\")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> texts.parse("{\"a\\")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> texts.parse("{\"a")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void multiDimensionalArraysBecomeNestedLists() {
        ValueParser ints = Structured.array(LONG, ',');
        assertThat(ints.parse("{{1,2},{NULL,4}}")).isEqualTo(List.of(List.of(1L, 2L), Arrays.asList(null, 4L)));
        assertThat(ints.parse("{{{1},{2}},{{3},{4}}}"))
                .isEqualTo(List.of(List.of(List.of(1L), List.of(2L)), List.of(List.of(3L), List.of(4L))));
    }

    @Test
    void arrayBoundsAreDroppedLikeToJsonb() {
        ValueParser ints = Structured.array(LONG, ',');
        assertThat(ints.parse("[0:1]={1,2}")).isEqualTo(List.of(1L, 2L));
        assertThat(ints.parse("[0:1][2:3]={{1,2},{3,4}}")).isEqualTo(List.of(List.of(1L, 2L), List.of(3L, 4L)));
    }

    @Test
    void boxArraysUseSemicolons() {
        ValueParser boxes = Structured.array(Geometry::box, ';');
        List<?> out = (List<?>) boxes.parse("{(1,1),(0,0);(2,2),(1,1)}");
        assertThat(out).hasSize(2);
        assertThat(out.get(1)).isEqualTo(Geometry.box("(2,2),(1,1)"));
    }

    @Test
    void malformedArraysAreRejected() {
        ValueParser ints = Structured.array(LONG, ',');
        assertThatThrownBy(() -> ints.parse("{1,2")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ints.parse("{1,2}x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ints.parse("{\"1}")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void compositesTellNullFromEmptyAndUnescapeDoubledQuotes() {
        ValueParser row = Structured.composite(List.of("a", "b", "c", "d", "e", "f"),
                List.of(LONG, TEXT, TEXT, TEXT, TEXT, TEXT));
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("a", 1L);
        expected.put("b", "");
        expected.put("c", null);
        expected.put("d", "a\"b\\c");
        expected.put("e", "x y");
        expected.put("f", "(,)");
        assertThat(row.parse("(1,\"\",,\"a\"\"b\\\\c\",\"x y\",\"(,)\")")).isEqualTo(expected);
        assertThat(List.copyOf(((Map<?, ?>) row.parse("(1,\"\",,\"a\"\"b\\\\c\",\"x y\",\"(,)\")")).keySet()).toString())
                .isEqualTo("[a, b, c, d, e, f]");
    }

    @Test
    void compositeWithADifferentFieldCountIsRejected() {
        ValueParser row = Structured.composite(List.of("a", "b"), List.of(LONG, TEXT));
        assertThatThrownBy(() -> row.parse("(1,x,y)")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> row.parse("(1)")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void nestedCompositesAndArraysInsideComposites() {
        ValueParser inner = Structured.composite(List.of("x", "y"), List.of(LONG, TEXT));
        ValueParser outer = Structured.composite(List.of("p", "tags"), List.of(inner, Structured.array(TEXT, ',')));
        Map<?, ?> out = (Map<?, ?>) outer.parse("(\"(1,\"\"a b\"\")\",\"{x,\"\"y z\"\"}\")");
        assertThat(out.get("p")).isEqualTo(inner.parse("(1,\"a b\")"));
        assertThat(out.get("tags")).isEqualTo(List.of("x", "y z"));
    }

    @Test
    void rangesReportBoundsInclusivityAndEmptiness() {
        ValueParser ints = Structured.range(LONG);
        assertThat(ints.parse("[1,5)")).isEqualTo(range(1L, 5L, true, false, false));
        assertThat(ints.parse("(,6)")).isEqualTo(range(null, 6L, false, false, false));
        assertThat(ints.parse("[3,)")).isEqualTo(range(3L, null, true, false, false));
        assertThat(ints.parse("empty")).isEqualTo(range(null, null, false, false, true));
        ValueParser times = Structured.range(Temporal::timestampTz);
        assertThat(times.parse("[\"2025-01-01 00:00:00+00\",infinity]"))
                .isEqualTo(range("2025-01-01T00:00:00.000Z", "infinity", true, true, false));
        ValueParser texts = Structured.range(TEXT);
        assertThat(texts.parse("[\"a \"\"b\",\"c\\\\d\")")).isEqualTo(range("a \"b", "c\\d", true, false, false));
    }

    @Test
    void multirangesAreListsOfRanges() {
        ValueParser ints = Structured.multirange(LONG);
        assertThat(ints.parse("{}")).isEqualTo(List.of());
        assertThat(ints.parse("{[1,3),[5,7)}"))
                .isEqualTo(List.of(range(1L, 3L, true, false, false), range(5L, 7L, true, false, false)));
        ValueParser dates = Structured.multirange(Temporal::date);
        assertThat(dates.parse("{[2025-01-01,2025-02-01),[2025-03-01,)}")).asList().hasSize(2);
    }

    @Test
    void hstoreBecomesAnOrderedObjectWithNullValues() {
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("a", "1");
        expected.put("k\"q", "v\\w");
        expected.put("n", null);
        expected.put("", "");
        assertThat(Structured.hstore("\"a\"=>\"1\", \"k\\\"q\"=>\"v\\\\w\", \"n\"=>NULL, \"\"=>\"\"")).isEqualTo(expected);
        assertThat(Structured.hstore("")).isEqualTo(Map.of());
    }

    @Test
    void geometricTypesBecomeObjects() {
        assertThat(Geometry.point("(1.5,-2)")).isEqualTo(Map.of("x", 1.5, "y", -2.0));
        assertThat(Geometry.point("(NaN,Infinity)")).isEqualTo(Map.of("x", "NaN", "y", "Infinity"));
        assertThat(Geometry.point("(1e+300,-1e-300)")).isEqualTo(Map.of("x", 1e300, "y", -1e-300));
        assertThat(Geometry.line("{1,-1,0}")).isEqualTo(Map.of("a", 1.0, "b", -1.0, "c", 0.0));
        assertThat(Geometry.lseg("[(0,0),(1,1)]"))
                .isEqualTo(Map.of("start", Map.of("x", 0.0, "y", 0.0), "end", Map.of("x", 1.0, "y", 1.0)));
        assertThat(Geometry.box("(1,1),(0,0)"))
                .isEqualTo(Map.of("high", Map.of("x", 1.0, "y", 1.0), "low", Map.of("x", 0.0, "y", 0.0)));
        assertThat(Geometry.path("[(0,0),(1,1)]")).isEqualTo(Map.of("closed", false, "points",
                List.of(Map.of("x", 0.0, "y", 0.0), Map.of("x", 1.0, "y", 1.0))));
        assertThat(Geometry.path("((0,0))")).isEqualTo(Map.of("closed", true, "points",
                List.of(Map.of("x", 0.0, "y", 0.0))));
        assertThat(Geometry.polygon("((0,0),(1,1),(1,0))")).isEqualTo(Map.of("points",
                List.of(Map.of("x", 0.0, "y", 0.0), Map.of("x", 1.0, "y", 1.0), Map.of("x", 1.0, "y", 0.0))));
        assertThat(Geometry.circle("<(0,0),2.5>")).isEqualTo(Map.of("center", Map.of("x", 0.0, "y", 0.0),
                "radius", 2.5));
        assertThatThrownBy(() -> Geometry.point("(1,2")).isInstanceOf(IllegalArgumentException.class);
    }

    private static Map<String, Object> range(Object lower, Object upper, boolean li, boolean ui, boolean empty) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lower", lower);
        m.put("upper", upper);
        m.put("lower_inclusive", li);
        m.put("upper_inclusive", ui);
        m.put("empty", empty);
        return m;
    }
}
