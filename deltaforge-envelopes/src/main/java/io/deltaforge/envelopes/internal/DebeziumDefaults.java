package io.deltaforge.envelopes.internal;

import io.deltaforge.api.ColumnType;
import io.deltaforge.api.RawJson;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A column's {@code DEFAULT} as Debezium's PostgreSQL connector reads it: it evaluates no expression; it
 * takes the first quoted literal ({@code 'x'::text} is {@code x}) or the bare text ({@code 42}, {@code true}),
 * and for a function call ({@code now()}, {@code nextval('s'::regclass)}) or {@code CURRENT_TIMESTAMP} and its
 * kin a fixed placeholder of the type ({@code 0}, {@code ""}, {@code false}, the nil uuid, {@code {}}).
 * Results are {@link io.deltaforge.api.Row} values, so {@link DebeziumValues} writes them as it writes a row's.
 *
 * <p>Debezium writes the default into the Connect schema and in place of every null of the column (a column
 * a key-only old row leaves out too); a NOT NULL column without a default gets the type's zero value there.
 *
 * <p>Only the types below are covered (verified by the differential test); for the others this gives
 * {@code null}, which is what Debezium has for types it has no default parser for (bytea, geometric types,
 * arrays).
 */
public final class DebeziumDefaults {
    private static final Pattern QUOTED = Pattern.compile("'([^']*(?:''[^']*)*)'");
    private static final Pattern FUNCTION_CALL = Pattern.compile("^\\(?[A-Za-z0-9_.]+\\(.*\\)");
    private static final Set<String> CURRENT = Set.of("current_timestamp", "current_time", "current_date",
            "localtime", "localtimestamp");
    /** Types whose expression Debezium trims before it reads it. */
    private static final Set<String> TRIMMED = Set.of("bit", "varbit", "bool", "numeric", "float4", "float8", "int2",
            "int4", "int8", "uuid", "date", "time", "timestamp", "timestamptz", "interval");
    private static final Pattern POSTGRES_INTERVAL = Pattern.compile("(?:(-?\\d+) years? ?)?(?:(-?\\d+) mons? ?)?"
            + "(?:(-?\\d+) days? ?)?(?:(-)?(\\d+):(\\d\\d):(\\d\\d(?:\\.\\d+)?))?");
    private static final Pattern HOURS_ONLY_OFFSET = Pattern.compile("[+-]\\d\\d$");
    /** Types whose {@code NULL::type} default is no default (for the text types the bare text is none either). */
    private static final Set<String> NULL_AWARE = Set.of("bool", "numeric", "float4", "float8", "int2", "int4",
            "int8");

    private DebeziumDefaults() {
    }

    /**
     * The column's default as Debezium reads it, as a row value; null when it has none Debezium reads. An
     * unconstrained {@code numeric} has none with {@code decimals} {@code PRECISE}: its value is a Connect struct,
     * which Debezium does not give a default (KAFKA-12694).
     */
    public static @Nullable Object of(ColumnType type, DebeziumValues.Decimals decimals) {
        String expression = type.defaultExpression();
        if (expression == null || type.type().startsWith("_")
                || type.type().equals("numeric") && type.modifier() < 0 && decimals == DebeziumValues.Decimals.PRECISE) {
            return null;
        }
        String t = type.type();
        if (TRIMMED.contains(t)) {
            expression = expression.trim();
        }
        if (NULL_AWARE.contains(t) && expression.startsWith("NULL::")) {
            return null;
        }
        try {
            if (type.kind() == 'e') {
                return enumLabel(type, expression);
            }
            return switch (t) {
                case "bool" -> Boolean.parseBoolean(literal(expression, "false"));
                case "bpchar", "varchar", "text", "xml" -> literal(expression, "");
                case "numeric" -> numeric(new BigDecimal(literal(expression, "0.0")), type.modifier());
                case "float4" -> (double) Float.parseFloat(literal(expression, "0.0"));
                case "float8" -> Double.parseDouble(literal(expression, "0.0"));
                case "int2" -> (long) Short.parseShort(literal(expression, "0"));
                case "int4" -> (long) Integer.parseInt(literal(expression, "0"));
                case "int8" -> Long.parseLong(literal(expression, "0"));
                case "json", "jsonb" -> new RawJson(literal(expression, "{}"));
                case "uuid" -> UUID.fromString(literal(expression, "00000000-0000-0000-0000-000000000000")).toString();
                case "date" -> LocalDate.parse(literal(expression, "1970-01-01")).toString();
                case "timestamp" -> dateTime(literal(expression, "1970-01-01")).toLocalDateTime().toString();
                case "timestamptz" -> dateTime(literal(expression, "1970-01-01")).toInstant().toString();
                case "time" -> LocalTime.parse(literal(expression, "00:00")).toString();
                // A generated interval has no placeholder Debezium can read ("epoch"): no default.
                case "interval" -> FUNCTION_CALL.matcher(expression).find() ? null : isoInterval(literal(expression, ""));
                // Bit text as the values carry it; the column's length picks Debezium's boolean or bytes.
                case "bit" -> literal(expression, "00");
                case "varbit" -> literal(expression, "0");
                default -> null;
            };
        } catch (RuntimeException unreadable) {
            // Debezium logs a warning and goes without a default.
            return null;
        }
    }

    /**
     * What Debezium writes for a null value: the column's default (its JSON converter replaces a null with the
     * schema's default, {@code replace.null.with.default}), else for a NOT NULL column (null in a key-only old
     * row) the type's zero value; null for the others and for types not covered.
     */
    public static @Nullable Object forNull(ColumnType type, DebeziumValues.Decimals decimals) {
        Object value = of(type, decimals);
        if (value != null || type.optional() || type.type().startsWith("_")) {
            return value;
        }
        return switch (type.type()) {
            case "int2", "int4", "int8" -> 0L;
            case "float4", "float8" -> 0.0d;
            case "bool" -> false;
            case "bpchar", "varchar", "text" -> "";
            case "date" -> "1970-01-01";
            default -> null;
        };
    }

    /** The quoted literal, the bare text, or the placeholder for a function's value; null for NULL. */
    static @Nullable String literal(String expression, String generated) {
        if (FUNCTION_CALL.matcher(expression).find() || CURRENT.contains(expression.toLowerCase(Locale.ROOT))) {
            return generated;
        }
        if (expression.indexOf('\'') < 0) {
            return expression.startsWith("NULL::") ? null : expression;
        }
        Matcher m = QUOTED.matcher(expression);
        return m.find() ? m.group(1).replace("''", "'") : null;
    }

    /**
     * A timestamp as the catalog prints it ({@code 2025-01-15}, {@code 2025-01-15 10:30:00.5},
     * {@code 2025-01-15 08:30:00+00}); without an offset in UTC, where Debezium takes its JVM's time zone.
     */
    static OffsetDateTime dateTime(String text) {
        String iso = text.trim().replace(' ', 'T');
        if (iso.length() == 10) {
            iso += "T00:00:00";
        }
        if (HOURS_ONLY_OFFSET.matcher(iso).find()) {
            iso += ":00";
        }
        TemporalAccessor parsed = DateTimeFormatter.ISO_DATE_TIME.parse(iso);
        return parsed.isSupported(ChronoField.OFFSET_SECONDS) ? OffsetDateTime.from(parsed)
                : LocalDateTime.from(parsed).atOffset(ZoneOffset.UTC);
    }

    /**
     * An interval constant as the catalog prints it in the {@code postgres} style ({@code 1 year 2 mons 3 days
     * -04:05:06.5}) in the ISO 8601 form values carry; other text as it is.
     */
    static String isoInterval(String text) {
        Matcher m = POSTGRES_INTERVAL.matcher(text.trim());
        if (text.isBlank() || !m.matches()) {
            return text;
        }
        String sign = m.group(4) == null ? "" : "-";
        return "P" + orZero(m.group(1)) + "Y" + orZero(m.group(2)) + "M" + orZero(m.group(3)) + "DT"
                + sign + orZero(m.group(5)) + "H" + sign + orZero(m.group(6)) + "M" + sign + orZero(m.group(7)) + "S";
    }

    private static String orZero(@Nullable String number) {
        return number == null ? "0" : number;
    }

    /** Debezium raises the scale to the column's, never lowers it. */
    private static BigDecimal numeric(BigDecimal value, int modifier) {
        int scale = modifier < 0 ? -1 : (modifier - 4) & 0xffff;
        return scale > value.scale() ? value.setScale(scale) : value;
    }

    /** {@code 'ok'::mood}: the label, when the cast names the column's enum. */
    private static @Nullable String enumLabel(ColumnType type, String expression) {
        int cast = expression.lastIndexOf("::");
        if (cast < 0) {
            return null;
        }
        String castType = expression.substring(cast + 2).replace("\"", "");
        castType = castType.substring(castType.lastIndexOf('.') + 1);
        String value = expression.substring(0, cast);
        if (!castType.equals(type.type()) || value.length() < 2 || !value.startsWith("'") || !value.endsWith("'")) {
            return null;
        }
        return value.substring(1, value.length() - 1);
    }
}
