package io.deltaforge.envelopes.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ColumnType;
import io.deltaforge.api.RawJson;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.util.Base64;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Writes PostgreSQL column values the way Debezium's PostgreSQL connector does with the Kafka Connect JSON
 * converter, from the lossless values a {@link io.deltaforge.api.Row} holds and the column's declared
 * {@link ColumnType}. Learned from Debezium's documentation and its converters' behaviour, verified by the
 * differential test in {@code examples/debezium-compat}.
 *
 * <p>Immutable and thread-safe.
 */
public final class DebeziumValues {
    /** What Debezium writes for a TOASTed value the server did not send (its default placeholder). */
    public static final String UNAVAILABLE = "__debezium_unavailable_value";

    /** {@code decimal.handling.mode}. */
    public enum Decimals { PRECISE, STRING, DOUBLE }

    /** {@code time.precision.mode}. */
    public enum Times { ADAPTIVE, ADAPTIVE_TIME_MICROSECONDS, CONNECT, ISOSTRING, MICROSECONDS, NANOSECONDS }

    /** {@code binary.handling.mode}. */
    public enum Binary { BYTES, BASE64, BASE64_URL_SAFE, HEX }

    /** {@code interval.handling.mode}. */
    public enum Intervals { NUMERIC, STRING }

    /** {@code hstore.handling.mode}. */
    public enum Hstore { JSON, MAP }

    /** Types Debezium's pgoutput streaming leaves out of the row (it has no converter for them by default). */
    private static final Set<String> LEFT_OUT = Set.of("tsquery", "line", "lseg", "box", "path", "polygon",
            "circle", "int4multirange", "int8multirange", "nummultirange", "tsmultirange", "tstzmultirange",
            "datemultirange");
    private static final Set<String> RANGES = Set.of("int4range", "int8range", "numrange", "tsrange", "tstzrange",
            "daterange");
    private static final double DAYS_PER_MONTH = 365.25 / 12.0;
    private static final int MONEY_SCALE = 2;
    /** PostgreSQL's ISO 8601 interval text: {@code P1Y2M-3DT4H5M6.789S}. */
    private static final Pattern ISO_INTERVAL = Pattern.compile(
            "P(?:(-?\\d+)Y)?(?:(-?\\d+)M)?(?:(-?\\d+)D)?(?:T(?:(-?\\d+)H)?(?:(-?\\d+)M)?(?:(-?\\d+(?:\\.\\d+)?)S)?)?");
    private static final com.fasterxml.jackson.core.JsonFactory HSTORE_JSON = new com.fasterxml.jackson.core.JsonFactory();
    private static final DateTimeFormatter ZONED_TIME = DateTimeFormatter.ISO_OFFSET_TIME;
    private static final BigInteger THOUSAND = BigInteger.valueOf(1000);

    private final Decimals decimals;
    private final Times times;
    private final Binary binary;
    private final Intervals intervals;
    private final Hstore hstore;

    public DebeziumValues(Decimals decimals, Times times, Binary binary, Intervals intervals, Hstore hstore) {
        this.decimals = decimals;
        this.times = times;
        this.binary = binary;
        this.intervals = intervals;
        this.hstore = hstore;
    }

    /** {@code decimal.handling.mode}. */
    public Decimals decimals() {
        return decimals;
    }

    /**
     * Whether Debezium writes a column of this type at all: not those it has no converter for (composites,
     * user-defined ranges, some geometric types), which it leaves out unless {@code include.unknown.datatypes}.
     */
    public static boolean written(ColumnType type) {
        String element = type.type().startsWith("_") ? type.type().substring(1) : type.type();
        return !LEFT_OUT.contains(element) && switch (type.kind()) {
            case 'c', 'p', 'm' -> false;
            case 'r' -> RANGES.contains(element);
            default -> true;
        };
    }

    /**
     * The placeholder Debezium writes for an unchanged TOASTed value of this type: for bytea its bytes
     * (base64 in JSON) in {@code bytes} mode, the text in {@code hex} mode, and null in the base64 modes.
     */
    public void writeUnavailable(JsonBytes g, ColumnType type) throws IOException {
        if (!type.type().equals("bytea")) {
            g.writeString(UNAVAILABLE);
            return;
        }
        switch (binary) {
            case BYTES -> g.writeString(Base64.getEncoder().encodeToString(UNAVAILABLE.getBytes(StandardCharsets.UTF_8)));
            case HEX -> g.writeString(UNAVAILABLE);
            case BASE64, BASE64_URL_SAFE -> g.writeNull();
        }
    }

    /**
     * Writes one value; a value whose text this does not recognise (a source with other settings, a
     * special value) is written as DeltaForge writes it, so nothing is lost.
     *
     * @param value a {@link io.deltaforge.api.Row} value, never null (nulls are written by the caller)
     */
    public void write(JsonBytes g, ColumnType type, Object value, ChangeEvent event) throws IOException {
        String name = type.type();
        if (name.startsWith("_") && value instanceof List<?> list) {
            ColumnType element = new ColumnType(type.name(), name.substring(1), type.modifier(), type.kind(), true,
                    type.labels());
            g.writeStartArray();
            for (Object item : list) {
                if (item == null) {
                    g.writeNull();
                } else {
                    write(g, element, item, event);
                }
            }
            g.writeEndArray();
            return;
        }
        try {
            if (!writeTyped(g, type, value)) {
                JsonOutput.writeValue(g, value, event, type.name());
            }
        } catch (RuntimeException unreadable) {
            JsonOutput.writeValue(g, value, event, type.name());
        }
    }

    /** False when {@code value} is not what the type's mapping produces, so the caller writes it as is. */
    private boolean writeTyped(JsonBytes g, ColumnType type, Object value) throws IOException {
        int mod = type.modifier();
        switch (type.type()) {
            case "numeric" -> {
                return writeNumeric(g, value, mod);
            }
            case "money" -> {
                if (!(value instanceof BigDecimal d)) {
                    return false;
                }
                writeDecimal(g, d.setScale(MONEY_SCALE, java.math.RoundingMode.HALF_UP));
                return true;
            }
            case "json", "jsonb" -> {
                if (!(value instanceof RawJson raw)) {
                    return false;
                }
                g.writeString(raw.json());
                return true;
            }
            case "bytea" -> {
                if (!(value instanceof String base64)) {
                    return false;
                }
                g.writeString(encodeBinary(Base64.getDecoder().decode(base64)));
                return true;
            }
            case "date" -> {
                if (!(value instanceof String s) || s.endsWith("infinity")) {
                    return false;
                }
                LocalDate date = LocalDate.parse(s);
                if (times == Times.ISOSTRING) {
                    // Debezium marks local dates and times as UTC in this mode.
                    g.writeString(date.format(DateTimeFormatter.ISO_LOCAL_DATE) + 'Z');
                } else {
                    g.writeNumber(date.toEpochDay());
                }
                return true;
            }
            case "time" -> {
                if (!(value instanceof String s)) {
                    return false;
                }
                long micros = timeMicros(s);
                switch (times) {
                    // 24:00:00 wraps to midnight as text.
                    case ISOSTRING -> g.writeString(LocalTime.ofNanoOfDay(micros % 86_400_000_000L * 1000)
                            .format(DateTimeFormatter.ISO_LOCAL_TIME) + 'Z');
                    case NANOSECONDS -> g.writeNumber(micros * 1000);
                    case CONNECT -> g.writeNumber(micros / 1000);
                    case ADAPTIVE -> g.writeNumber(mod >= 0 && mod <= 3 ? micros / 1000 : micros);
                    case ADAPTIVE_TIME_MICROSECONDS, MICROSECONDS -> g.writeNumber(micros);
                }
                return true;
            }
            case "timetz" -> {
                if (!(value instanceof String s)) {
                    return false;
                }
                g.writeString(OffsetTime.parse(s).withOffsetSameInstant(ZoneOffset.UTC).format(ZONED_TIME));
                return true;
            }
            case "timestamp" -> {
                if (!(value instanceof String s) || s.endsWith("infinity")) {
                    return false;
                }
                LocalDateTime local = LocalDateTime.parse(s);
                Instant t = local.toInstant(ZoneOffset.UTC);
                long micros = Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1000);
                switch (times) {
                    case ISOSTRING -> g.writeString(local.format(DateTimeFormatter.ISO_LOCAL_DATE_TIME) + 'Z');
                    case NANOSECONDS -> g.writeNumber(BigInteger.valueOf(micros).multiply(THOUSAND));
                    case MICROSECONDS -> g.writeNumber(micros);
                    case CONNECT -> g.writeNumber(Math.floorDiv(micros, 1000));
                    case ADAPTIVE, ADAPTIVE_TIME_MICROSECONDS ->
                            g.writeNumber(mod >= 0 && mod <= 3 ? Math.floorDiv(micros, 1000) : micros);
                }
                return true;
            }
            case "timestamptz" -> {
                if (!(value instanceof String s) || s.endsWith("infinity")) {
                    return false;
                }
                g.writeString(zonedTimestamp(Instant.parse(s), mod < 0 ? 6 : mod));
                return true;
            }
            case "interval" -> {
                return value instanceof String s && writeInterval(g, s);
            }
            case "bit", "varbit" -> {
                if (!(value instanceof String bits)) {
                    return false;
                }
                if (mod == 1) {
                    g.writeBoolean(bits.indexOf('1') >= 0);
                } else {
                    g.writeString(Base64.getEncoder().encodeToString(bitBytes(bits, mod)));
                }
                return true;
            }
            case "point" -> {
                return value instanceof Map<?, ?> p && writePoint(g, p);
            }
            case "hstore" -> {
                return value instanceof Map<?, ?> m && writeHstore(g, m);
            }
            default -> {
                if (RANGES.contains(type.type()) && value instanceof Map<?, ?> range) {
                    g.writeString(rangeText(type.type(), range));
                    return true;
                }
                return false;
            }
        }
    }

    private boolean writeNumeric(JsonBytes g, Object value, int mod) throws IOException {
        if (!(value instanceof BigDecimal d)) {
            // NaN and the infinities: Debezium's precise encodings have no room for them.
            if (!(value instanceof String special)) {
                return false;
            }
            switch (decimals) {
                case PRECISE -> g.writeNull();
                case STRING -> g.writeString(switch (special) {
                    case "NaN" -> "NAN";
                    case "Infinity" -> "POSITIVE_INFINITY";
                    default -> "NEGATIVE_INFINITY";
                });
                case DOUBLE -> g.writeString(Double.toString(Double.parseDouble(special)));
            }
            return true;
        }
        boolean variableScale = mod < 0;
        if (!variableScale) {
            d = d.setScale((mod - 4) & 0xffff);
        }
        if (decimals == Decimals.PRECISE && variableScale) {
            BigDecimal stripped = d.stripTrailingZeros();
            if (stripped.scale() < 0) {
                stripped = stripped.setScale(0);
            }
            g.writeStartObject();
            g.writeNumberField("scale", stripped.scale());
            g.writeStringField("value", Base64.getEncoder().encodeToString(stripped.unscaledValue().toByteArray()));
            g.writeEndObject();
            return true;
        }
        writeDecimal(g, d);
        return true;
    }

    private void writeDecimal(JsonBytes g, BigDecimal d) throws IOException {
        switch (decimals) {
            case PRECISE -> g.writeString(Base64.getEncoder().encodeToString(d.unscaledValue().toByteArray()));
            case STRING -> g.writeString(d.toPlainString());
            case DOUBLE -> g.writeNumber(d.doubleValue());
        }
    }

    /** Bytes as {@code binary.handling.mode} writes them (bytea values, logical message content). */
    public String encodeBinary(byte[] bytes) {
        return switch (binary) {
            case BYTES, BASE64 -> Base64.getEncoder().encodeToString(bytes);
            case BASE64_URL_SAFE -> Base64.getUrlEncoder().encodeToString(bytes);
            case HEX -> HexFormat.of().formatHex(bytes);
        };
    }

    /** Microseconds since midnight of DeltaForge's time text ({@code 10:30:00.123456}, {@code 24:00:00.000}). */
    private static long timeMicros(String s) {
        if (s.startsWith("24:00:00")) {
            return 86_400_000_000L;
        }
        return LocalTime.parse(s).toNanoOfDay() / 1000;
    }

    /** Debezium's ZonedTimestamp text: UTC, {@code Z}, exactly {@code width} fraction digits (none: as needed). */
    private static String zonedTimestamp(Instant t, int width) {
        DateTimeFormatter f = width <= 0 || width > 9 ? DateTimeFormatter.ISO_OFFSET_DATE_TIME
                : new DateTimeFormatterBuilder().append(DateTimeFormatter.ISO_LOCAL_DATE).appendLiteral('T')
                        .appendPattern("HH:mm:ss").appendFraction(ChronoField.NANO_OF_SECOND, width, width, true)
                        .appendOffsetId().toFormatter();
        return t.atOffset(ZoneOffset.UTC).format(f);
    }

    private boolean writeInterval(JsonBytes g, String iso) throws IOException {
        Matcher m = ISO_INTERVAL.matcher(iso);
        if (!m.matches()) {
            return false;
        }
        int years = group(m, 1);
        int months = group(m, 2);
        int days = group(m, 3);
        int hours = group(m, 4);
        int minutes = group(m, 5);
        BigDecimal seconds = m.group(6) == null ? BigDecimal.ZERO : new BigDecimal(m.group(6));
        if (intervals == Intervals.STRING) {
            g.writeString("P" + years + "Y" + months + "M" + days + "DT" + hours + "H" + minutes + "M"
                    + seconds.stripTrailingZeros().toPlainString() + "S");
        } else {
            // The same double arithmetic as Debezium, months as 365.25 / 12 days, so the numbers agree to the unit.
            double totalDays = (years * 12 + months) * DAYS_PER_MONTH + days;
            double totalSeconds = ((totalDays * 24 + hours) * 60 + minutes) * 60 + seconds.doubleValue();
            g.writeNumber((long) (totalSeconds * 1e6));
        }
        return true;
    }

    private static int group(Matcher m, int group) {
        return m.group(group) == null ? 0 : Integer.parseInt(m.group(group));
    }

    /** The bits as little-endian bytes (the last bit is bit 0), padded to the column's length. */
    private static byte[] bitBytes(String bits, int length) {
        int n = bits.length();
        BitSet set = new BitSet(n);
        for (int i = 0; i < n; i++) {
            if (bits.charAt(n - 1 - i) == '1') {
                set.set(i);
            }
        }
        byte[] bytes = set.toByteArray();
        int width = length > 0 ? (length + 7) / 8 : 0;
        if (bytes.length < width) {
            byte[] padded = new byte[width];
            System.arraycopy(bytes, 0, padded, 0, bytes.length);
            return padded;
        }
        return bytes;
    }

    private static boolean writePoint(JsonBytes g, Map<?, ?> p) throws IOException {
        if (!(p.get("x") instanceof Double x) || !(p.get("y") instanceof Double y)) {
            return false;
        }
        // Well-known binary of a 2D point: little-endian flag, type 1, x, y.
        ByteBuffer wkb = ByteBuffer.allocate(21).order(ByteOrder.LITTLE_ENDIAN);
        wkb.put((byte) 1).putInt(1).putDouble(x).putDouble(y);
        g.writeStartObject();
        g.writeNumberField("x", x);
        g.writeNumberField("y", y);
        g.writeStringField("wkb", Base64.getEncoder().encodeToString(wkb.array()));
        g.writeNullField("srid");
        g.writeEndObject();
        return true;
    }

    private boolean writeHstore(JsonBytes g, Map<?, ?> map) throws IOException {
        // Debezium reads hstore into a HashMap, so its keys come out in HashMap order; so do ours.
        Map<String, @Nullable Object> hashed = new HashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            hashed.put(String.valueOf(e.getKey()), e.getValue());
        }
        if (hstore == Hstore.MAP) {
            g.writeStartObject();
            for (Map.Entry<String, @Nullable Object> e : hashed.entrySet()) {
                g.writeFieldName(e.getKey());
                writeNullableString(g, e.getValue());
            }
            g.writeEndObject();
            return true;
        }
        // Jackson's character writer, not JsonBytes: it leaves surrogates as they are, and the text is then
        // escaped once more as a string value.
        StringWriter text = new StringWriter();
        try (com.fasterxml.jackson.core.JsonGenerator inner = HSTORE_JSON.createGenerator(text)) {
            inner.writeStartObject();
            for (Map.Entry<String, @Nullable Object> e : hashed.entrySet()) {
                inner.writeFieldName(e.getKey());
                if (e.getValue() == null) {
                    inner.writeNull();
                } else {
                    inner.writeString(e.getValue().toString());
                }
            }
            inner.writeEndObject();
        }
        g.writeString(text.toString());
        return true;
    }

    private static void writeNullableString(JsonBytes g, @Nullable Object value) throws IOException {
        if (value == null) {
            g.writeNull();
        } else {
            g.writeString(value.toString());
        }
    }

    /** PostgreSQL's text of a range, rebuilt from DeltaForge's range object. */
    private static String rangeText(String type, Map<?, ?> range) {
        if (Boolean.TRUE.equals(range.get("empty"))) {
            return "empty";
        }
        StringBuilder b = new StringBuilder();
        b.append(Boolean.TRUE.equals(range.get("lower_inclusive")) ? '[' : '(');
        appendBound(b, type, range.get("lower"));
        b.append(',');
        appendBound(b, type, range.get("upper"));
        b.append(Boolean.TRUE.equals(range.get("upper_inclusive")) ? ']' : ')');
        return b.toString();
    }

    private static void appendBound(StringBuilder b, String type, @Nullable Object bound) {
        if (bound == null) {
            return;
        }
        String text = bound instanceof BigDecimal d ? d.toPlainString() : bound.toString();
        if (text.endsWith("infinity")) {
            b.append(text);
            return;
        }
        switch (type) {
            case "tsrange" -> b.append('"').append(pgTimestamp(text, false)).append('"');
            case "tstzrange" -> b.append('"').append(pgTimestamp(text, true)).append('"');
            default -> b.append(text);
        }
    }

    /** {@code 2025-01-01T00:00:00.500Z} as PostgreSQL prints it: {@code 2025-01-01 00:00:00.5+00}. */
    private static String pgTimestamp(String iso, boolean zoned) {
        String local = zoned ? iso.substring(0, iso.length() - 1) : iso;
        int dot = local.indexOf('.');
        if (dot >= 0) {
            String fraction = local.substring(dot + 1).replaceAll("0+$", "");
            local = local.substring(0, dot) + (fraction.isEmpty() ? "" : "." + fraction);
        }
        return local.replace('T', ' ') + (zoned ? "+00" : "");
    }
}
