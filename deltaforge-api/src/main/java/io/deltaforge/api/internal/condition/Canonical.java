package io.deltaforge.api.internal.condition;

import io.deltaforge.api.internal.condition.Condition.And;
import io.deltaforge.api.internal.condition.Condition.Between;
import io.deltaforge.api.internal.condition.Condition.Compare;
import io.deltaforge.api.internal.condition.Condition.In;
import io.deltaforge.api.internal.condition.Condition.IsNull;
import io.deltaforge.api.internal.condition.Condition.Literal;
import io.deltaforge.api.internal.condition.Condition.Not;
import io.deltaforge.api.internal.condition.Condition.Or;
import java.util.stream.Collectors;

/** Writes a condition back as grammar text, with parentheses only where precedence needs them. */
final class Canonical {
    private Canonical() {
    }

    static String of(Condition c) {
        if (c instanceof Or or) {
            return or.parts().stream().map(Canonical::of).collect(Collectors.joining(" OR "));
        }
        if (c instanceof And and) {
            return and.parts().stream().map(p -> p instanceof Or ? "(" + of(p) + ")" : of(p))
                    .collect(Collectors.joining(" AND "));
        }
        if (c instanceof Not not) {
            Condition p = not.part();
            return "NOT " + (p instanceof Or || p instanceof And ? "(" + of(p) + ")" : of(p));
        }
        if (c instanceof Compare cmp) {
            return cmp.column().text() + " " + cmp.operator().symbol + " " + cmp.value().text();
        }
        if (c instanceof In in) {
            return in.column().text() + (in.negated() ? " NOT IN (" : " IN (")
                    + in.values().stream().map(Literal::text).collect(Collectors.joining(", ")) + ")";
        }
        if (c instanceof Between b) {
            return b.column().text() + (b.negated() ? " NOT BETWEEN " : " BETWEEN ") + b.low().text() + " AND "
                    + b.high().text();
        }
        IsNull n = (IsNull) c;
        return n.column().text() + (n.negated() ? " IS NOT NULL" : " IS NULL");
    }
}
