package io.deltaforge.envelopes;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ColumnType;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.jspecify.annotations.Nullable;

/**
 * Change events made from a seed, covering every value the JSON envelopes write: text with every ASCII
 * control character, quotes, backslashes, slashes, non-ASCII, surrogate pairs and unpaired surrogates;
 * numbers of each type at their edges; json embedded as is; nested arrays and objects; nulls; truncates and
 * logical messages; unsigned LSNs. Tables reuse their column lists, as a source does, and sometimes not.
 */
final class GeneratedEvents {
    /** Characters that take each path of a JSON string writer; the tail is split surrogates. */
    private static final String PALETTE = "aZ09 \"\\/'<>&\u007f\u0080\u00e9\u00ff\u0100\u07ff\u0800\u20ac"
            + "\u2028\u2029\ud7ff\ue000\ufeff\uffff";
    private static final String[] PAIRS = {"\ud83d\ude00", "\ud800\udc00", "\udbff\udfff", "\ud834\udd1e"};
    private static final String[] LONE = {"\ud800", "\udbff", "\udc00", "\udfff"};
    private static final String[] RAW_JSON = {"{}", "[]", "null", "{\"a\":[1,2.5,\"x\\u0000\"]}",
            "\"\ud83d\ude00 caf\u00e9\"", "{\"k\": {\"n\": -0.0e+1}}", " [ true , false ] ", "12345678901234567890"};
    private static final String[] TYPES = {"int4", "int8", "text", "varchar", "numeric", "float8", "float4", "bool",
            "json", "jsonb", "bytea", "timestamptz", "timestamp", "date", "time", "interval", "uuid", "_int4", "_text",
            "hstore", "point", "money", "int4range"};

    private final Random random;
    private final boolean lonelySurrogates;
    private final List<TableId> tables = new ArrayList<>();
    private final List<List<String>> columnLists = new ArrayList<>();

    /**
     * @param lonelySurrogates whether text may hold unpaired surrogates (which some envelopes reject)
     */
    GeneratedEvents(long seed, boolean lonelySurrogates) {
        this.random = new Random(seed);
        this.lonelySurrogates = lonelySurrogates;
        for (int t = 0; t < 6; t++) {
            tables.add(new TableId(t == 0 ? "" : t % 2 == 0 ? "public" : text(8, false), text(10, false)));
            int n = 1 + random.nextInt(7);
            List<String> columns = new ArrayList<>();
            columns.add(random.nextBoolean() ? "id" : "key");
            for (int c = 1; c < n; c++) {
                String name = random.nextInt(4) == 0 ? text(6, false) : "c" + c;
                if (!columns.contains(name)) {
                    columns.add(name);
                }
            }
            columnLists.add(List.copyOf(columns));
        }
    }

    ChangeEvent next(int index) {
        int t = random.nextInt(tables.size());
        TableId table = tables.get(t);
        List<String> columns = random.nextInt(5) == 0 ? new ArrayList<>(columnLists.get(t)) : columnLists.get(t);
        long commit = random.nextInt(4) == 0 ? random.nextLong() : random.nextInt(Integer.MAX_VALUE);
        long lsn = random.nextInt(4) == 0 ? random.nextLong() : commit - random.nextInt(1000);
        Instant time = Instant.ofEpochSecond(random.nextInt(4) == 0 ? random.nextLong() % 100_000_000_000L
                : 1_700_000_000L + random.nextInt(100_000_000), random.nextInt(4) * (long) random.nextInt(1_000_000_000) / 3);
        SourcePosition position = new SourcePosition(new Lsn(commit), new Lsn(lsn), random.nextInt(1_000_000),
                random.nextInt(3) == 0 ? random.nextLong() & Long.MAX_VALUE : random.nextInt(100_000), time,
                random.nextBoolean() ? null : new Lsn(commit - 100));
        String id = random.nextInt(10) == 0 ? text(20, true) : Long.toHexString(random.nextLong());
        String sourceId = random.nextInt(8) == 0 ? text(8, false) : "src-" + random.nextInt(3);
        List<ColumnType> types = new ArrayList<>();
        for (String column : columns) {
            types.add(new ColumnType(column, TYPES[random.nextInt(TYPES.length)], random.nextInt(3) - 1, 'b',
                    random.nextBoolean(), List.of(), random.nextInt(5) == 0 ? "0" : null));
        }
        List<String> keyColumns = random.nextBoolean() ? List.of() : List.of(columns.get(0));
        ChangeEvent.Origin origin = random.nextInt(5) == 0 ? new ChangeEvent.Origin(text(5, false), new Lsn(random.nextLong())) : null;
        String database = random.nextBoolean() ? "" : text(4, false);
        int kind = random.nextInt(20);
        if (kind == 0) {
            return new ChangeEvent(id, sourceId, Op.TRUNCATE, table, null, null, position, 0, List.of(),
                    new ChangeEvent.Detail.Truncate(random.nextBoolean(), random.nextBoolean()), List.of(), List.of(),
                    database, origin);
        }
        if (kind == 1) {
            String prefix = text(6, false);
            byte[] content = random.nextBoolean() ? text(12, false).getBytes(StandardCharsets.UTF_8) : bytes();
            return new ChangeEvent(id, sourceId, Op.MESSAGE, new TableId("", prefix), null, null, position, 0,
                    List.of(), new ChangeEvent.Detail.Message(prefix, content, random.nextBoolean()), List.of(),
                    List.of(), database, origin);
        }
        Op op = new Op[] {Op.CREATE, Op.UPDATE, Op.DELETE, Op.READ}[random.nextInt(4)];
        Row before = op == Op.UPDATE || op == Op.DELETE ? (random.nextBoolean() ? row(columns)
                : Row.of(List.of(columns.get(0)), value(0))) : null;
        Row after = op == Op.DELETE ? null : row(columns);
        return new ChangeEvent(id, sourceId, op, table, before, after, position, 0,
                random.nextInt(6) == 0 ? List.of(columns.get(columns.size() - 1)) : List.of(), null, keyColumns,
                random.nextInt(3) == 0 ? List.of() : types, database, origin);
    }

    private Row row(List<String> columns) {
        Object[] values = new Object[columns.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = value(0);
        }
        return Row.of(columns, values);
    }

    private @Nullable Object value(int depth) {
        return switch (random.nextInt(depth > 2 ? 14 : 16)) {
            case 0 -> null;
            case 1, 2 -> text(random.nextInt(3) == 0 ? 40 : 8, true);
            case 3 -> switch (random.nextInt(4)) {
                case 0 -> Long.MIN_VALUE;
                case 1 -> Long.MAX_VALUE;
                case 2 -> (long) random.nextInt(1000) - 500;
                default -> random.nextLong();
            };
            case 4 -> decimal();
            case 5 -> random.nextBoolean();
            case 6 -> switch (random.nextInt(8)) {
                case 0 -> Double.NaN;
                case 1 -> random.nextBoolean() ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
                case 2 -> -0.0;
                case 3 -> Double.MIN_VALUE;
                case 4 -> Double.MAX_VALUE;
                case 5 -> random.nextDouble() * 1e-7;
                case 6 -> (double) random.nextInt(1_000_000);
                default -> Double.longBitsToDouble(random.nextLong());
            };
            case 7 -> new RawJson(RAW_JSON[random.nextInt(RAW_JSON.length)]);
            case 8 -> switch (random.nextInt(5)) {
                case 0 -> random.nextInt();
                case 1 -> (short) random.nextInt();
                case 2 -> (byte) random.nextInt();
                case 3 -> new BigInteger(random.nextInt(200) + 1, random).negate();
                default -> random.nextBoolean() ? Float.intBitsToFloat(random.nextInt()) : random.nextFloat();
            };
            case 9 -> text(3, true) + "2025-01-15T10:30:00.123456Z";
            case 10 -> java.util.Base64.getEncoder().encodeToString(bytes());
            case 11, 12, 13 -> text(random.nextInt(4), true);
            default -> {
                if (random.nextBoolean()) {
                    List<Object> list = new ArrayList<>();
                    for (int i = random.nextInt(4); i > 0; i--) {
                        list.add(value(depth + 1));
                    }
                    yield list;
                }
                Map<Object, Object> map = new LinkedHashMap<>();
                for (int i = random.nextInt(4); i > 0; i--) {
                    map.put(random.nextBoolean() ? text(4, true) : random.nextInt(10), value(depth + 1));
                }
                yield map;
            }
        };
    }

    private BigDecimal decimal() {
        return switch (random.nextInt(6)) {
            case 0 -> new BigDecimal(BigInteger.valueOf(random.nextLong()), random.nextInt(40) - 20);
            case 1 -> new BigDecimal("1E+3");
            case 2 -> new BigDecimal("-0.000");
            case 3 -> new BigDecimal(new BigInteger(300, random), random.nextInt(100));
            case 4 -> new BigDecimal(BigInteger.ONE, random.nextBoolean() ? 9999 : -9999);
            default -> BigDecimal.valueOf(random.nextInt(100_000), 2);
        };
    }

    private byte[] bytes() {
        byte[] b = new byte[random.nextInt(12)];
        random.nextBytes(b);
        return b;
    }

    /** Up to {@code max} characters drawn from every class a JSON string writer treats differently. */
    String text(int max, boolean surrogates) {
        StringBuilder s = new StringBuilder();
        for (int n = random.nextInt(max + 1); n > 0; n--) {
            int pick = random.nextInt(10);
            if (pick < 3) {
                s.append((char) ('a' + random.nextInt(26)));
            } else if (pick < 5) {
                s.append((char) random.nextInt(0x20));
            } else if (pick < 7) {
                s.append(PALETTE.charAt(random.nextInt(PALETTE.length())));
            } else if (pick < 8) {
                s.append((char) random.nextInt(0xD800));
            } else if (pick < 9 || !surrogates || !lonelySurrogates) {
                s.append(PAIRS[random.nextInt(PAIRS.length)]);
            } else {
                s.append(LONE[random.nextInt(LONE.length)]);
            }
        }
        return s.toString();
    }
}
