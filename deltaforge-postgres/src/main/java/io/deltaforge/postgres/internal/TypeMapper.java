package io.deltaforge.postgres.internal;

import io.deltaforge.api.RawJson;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Maps pgoutput's text form of a column value, by type OID, onto the value types of
 * {@link io.deltaforge.api.Row}, without losing information. The full table with examples is in
 * {@code docs/type-mapping.md}.
 *
 * <table>
 *   <caption>PostgreSQL type to Row value</caption>
 *   <tr><th>type</th><th>value</th><th>example</th></tr>
 *   <tr><td>int2, int4, int8, oid</td><td>Long</td><td>{@code 42}</td></tr>
 *   <tr><td>numeric</td><td>BigDecimal, every digit and the scale kept; {@code NaN}, {@code Infinity},
 *       {@code -Infinity} as String</td><td>{@code 12.500}</td></tr>
 *   <tr><td>float4, float8</td><td>Double; {@code NaN}, {@code Infinity}, {@code -Infinity} as String</td>
 *       <td>{@code 0.1}</td></tr>
 *   <tr><td>bool</td><td>Boolean</td><td>{@code true}</td></tr>
 *   <tr><td>text, varchar, char(n) (padded), name, "char"</td><td>String</td><td>{@code "Alice"}</td></tr>
 *   <tr><td>bytea</td><td>String, base64 of the bytes</td><td>{@code "3q2+7w=="}</td></tr>
 *   <tr><td>uuid</td><td>String</td><td>{@code "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}</td></tr>
 *   <tr><td>json, jsonb</td><td>RawJson (embedded as JSON)</td><td>{@code {"a": 1}}</td></tr>
 *   <tr><td>date</td><td>String, ISO 8601</td><td>{@code "2025-01-15"}</td></tr>
 *   <tr><td>time</td><td>String, milliseconds always, microseconds when not zero</td>
 *       <td>{@code "10:30:00.000"}</td></tr>
 *   <tr><td>timetz</td><td>String, offset as {@code ±HH:MM}</td><td>{@code "10:30:00.000+05:30"}</td></tr>
 *   <tr><td>timestamp</td><td>String, ISO 8601 local</td><td>{@code "2025-01-15T10:30:00.123456"}</td></tr>
 *   <tr><td>timestamptz</td><td>String, RFC 3339 in UTC</td><td>{@code "2025-01-15T10:30:00.000Z"}</td></tr>
 *   <tr><td>interval</td><td>String, ISO 8601 duration as PostgreSQL's iso_8601 style writes it</td>
 *       <td>{@code "P1Y2M3DT4H5M6.789S"}</td></tr>
 *   <tr><td>money</td><td>BigDecimal amount (needs {@code lc_monetary=C}; other locales: String)</td>
 *       <td>{@code -1234.56}</td></tr>
 *   <tr><td>inet, cidr, macaddr, macaddr8, bit, varbit, xml, tsvector, tsquery, jsonpath, pg_lsn</td>
 *       <td>String, PostgreSQL's text</td><td>{@code "10.0.0.1/8"}, {@code "0101"}</td></tr>
 *   <tr><td>point, line, lseg, box, path, polygon, circle</td><td>Map, see {@link Geometry}</td>
 *       <td>{@code {"x":1.0,"y":2.0}}</td></tr>
 *   <tr><td>ranges (int4range, int8range, numrange, tsrange, tstzrange, daterange, user ranges)</td>
 *       <td>Map {@code lower, upper, lower_inclusive, upper_inclusive, empty}; an unbounded side is null</td>
 *       <td>{@code {"lower":1,"upper":5,"lower_inclusive":true,"upper_inclusive":false,"empty":false}}</td></tr>
 *   <tr><td>multiranges</td><td>List of range maps</td><td>{@code [{...},{...}]}</td></tr>
 *   <tr><td>hstore (by name, any schema)</td><td>Map of String to String or null</td><td>{@code {"a":"1"}}</td></tr>
 *   <tr><td>enum</td><td>String, the label</td><td>{@code "happy"}</td></tr>
 *   <tr><td>domain</td><td>as its base type</td><td></td></tr>
 *   <tr><td>composite</td><td>Map of field name to value, fields mapped by their types</td>
 *       <td>{@code {"street":"Main","no":1}}</td></tr>
 *   <tr><td>arrays of any of these</td><td>List, nested per dimension; NULL elements null; bounds other
 *       than 1 dropped (as {@code to_jsonb} does)</td><td>{@code [[1,2],[null,4]]}</td></tr>
 *   <tr><td>anything else</td><td>String, PostgreSQL's text</td><td></td></tr>
 * </table>
 *
 * <p>Dates and timestamps: {@code infinity} and {@code -infinity} stay strings; BC years use ISO 8601
 * numbering ({@code 0044-03-15 BC} is {@code -0043-03-15}); years above 9999 carry a {@code +}.
 *
 * <p>The text must come from a session with {@code DateStyle=ISO}, {@code TimeZone=UTC},
 * {@code extra_float_digits=3}, {@code IntervalStyle=iso_8601} and {@code lc_monetary=C}
 * ({@link #SESSION_OPTIONS}). Text that does not parse as expected is passed through as a String rather than
 * failing the stream; the postgres interval style and other time zones are still converted.
 *
 * <p>Types with OIDs below 16384 are known statically. Other types (enums, domains, composites, user ranges,
 * extension types, arrays of them) are described by a {@link Lookup}, usually {@link TypeCatalog}, when
 * {@link #prepare} is called with a Relation message's type OIDs; until then they map to their text.
 *
 * <p>Thread-safe. {@link #map} does no I/O and keeps one parser per OID.
 */
public final class TypeMapper {
    /** The startup options under which the server writes what this class expects. */
    public static final String SESSION_OPTIONS = "-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3"
            + " -c IntervalStyle=iso_8601 -c lc_monetary=C -c bytea_output=hex";

    /** Describes non-built-in types; see {@link TypeCatalog}. */
    @FunctionalInterface
    public interface Lookup {
        /**
         * The types with these OIDs and every non-built-in type they are made of (elements, bases, bounds,
         * fields). OIDs the catalog does not know are left out.
         */
        Map<Integer, TypeInfo> describe(Set<Integer> oids);

        /** The NOT NULL columns and the {@code DEFAULT}s of a table; none when not known. */
        default TableColumns tableColumns(int relationOid) {
            return TableColumns.NONE;
        }
    }

    /**
     * What the catalog says of a table's columns beyond what a Relation message carries.
     *
     * @param notNull  the columns declared NOT NULL
     * @param defaults each column with a {@code DEFAULT}: its expression as {@code pg_get_expr} prints it
     */
    public record TableColumns(Set<String> notNull, Map<String, String> defaults) {
        static final TableColumns NONE = new TableColumns(Set.of(), Map.of());

        public TableColumns {
            notNull = Set.copyOf(notNull);
            defaults = Map.copyOf(defaults);
        }
    }

    /** OIDs below this are assigned by initdb and never change meaning. */
    static final int FIRST_NORMAL_OID = 16384;

    static final int BOOL = 16;
    static final int BYTEA = 17;
    static final int CHAR = 18;
    static final int NAME = 19;
    static final int INT8 = 20;
    static final int INT2 = 21;
    static final int INT4 = 23;
    static final int TEXT = 25;
    static final int OID = 26;
    static final int JSON = 114;
    static final int XML = 142;
    static final int POINT = 600;
    static final int LSEG = 601;
    static final int PATH = 602;
    static final int BOX = 603;
    static final int POLYGON = 604;
    static final int LINE = 628;
    static final int CIDR = 650;
    static final int FLOAT4 = 700;
    static final int FLOAT8 = 701;
    static final int CIRCLE = 718;
    static final int MACADDR8 = 774;
    static final int MONEY = 790;
    static final int MACADDR = 829;
    static final int INET = 869;
    static final int BPCHAR = 1042;
    static final int VARCHAR = 1043;
    static final int DATE = 1082;
    static final int TIME = 1083;
    static final int TIMESTAMP = 1114;
    static final int TIMESTAMPTZ = 1184;
    static final int INTERVAL = 1186;
    static final int TIMETZ = 1266;
    static final int BIT = 1560;
    static final int VARBIT = 1562;
    static final int NUMERIC = 1700;
    static final int UUID = 2950;
    static final int TSVECTOR = 3614;
    static final int TSQUERY = 3615;
    static final int JSONB = 3802;
    static final int INT4RANGE = 3904;
    static final int NUMRANGE = 3906;
    static final int TSRANGE = 3908;
    static final int TSTZRANGE = 3910;
    static final int DATERANGE = 3912;
    static final int INT8RANGE = 3926;

    // array OID -> element OID, from pg_type (typlen = -1, typelem <> 0), int2vector and oidvector
    // excluded: they print as "1 2 3", not as arrays. Bounded types share their element's parser.
    private static final int[][] ARRAYS = {
            {143, XML}, {199, JSON}, {271, 5069}, {629, LINE}, {651, CIDR}, {719, CIRCLE}, {775, MACADDR8},
            {791, MONEY}, {1000, BOOL}, {1001, BYTEA}, {1002, CHAR}, {1003, NAME}, {1005, INT2},
            {1007, INT4}, {1009, TEXT}, {1011, 28}, {1012, 29}, {1014, BPCHAR}, {1015, VARCHAR},
            {1016, INT8}, {1017, POINT}, {1018, LSEG}, {1019, PATH}, {1020, BOX}, {1021, FLOAT4},
            {1022, FLOAT8}, {1027, POLYGON}, {1028, OID}, {1040, MACADDR}, {1041, INET}, {1115, TIMESTAMP},
            {1182, DATE}, {1183, TIME}, {1185, TIMESTAMPTZ}, {1187, INTERVAL}, {1231, NUMERIC},
            {1270, TIMETZ}, {1561, BIT}, {1563, VARBIT}, {2951, UUID}, {3221, 3220}, {3643, TSVECTOR},
            {3645, TSQUERY}, {3807, JSONB}, {3905, INT4RANGE}, {3907, NUMRANGE}, {3909, TSRANGE},
            {3911, TSTZRANGE}, {3913, DATERANGE}, {3927, INT8RANGE}, {4073, 4072}, {6150, 4451},
            {6151, 4532}, {6152, 4533}, {6153, 4534}, {6155, 4535}, {6157, 4536},
    };

    /** Names of the built-in types by OID ({@code pg_type.typname}); filled once, never written afterwards. */
    private static final Map<Integer, String> BUILTIN_NAMES = builtinNames();

    /** Built-in parsers by OID; null means the text itself. Filled once, never written afterwards. */
    private static final @Nullable ValueParser[] BUILTIN = builtins();

    private final @Nullable Lookup lookup;
    private final Map<Integer, TypeInfo> infos = new ConcurrentHashMap<>();
    private final Map<Integer, ValueParser> dynamic = new ConcurrentHashMap<>();

    /** A mapper for built-in types only; everything else maps to its text. */
    public TypeMapper() {
        this.lookup = null;
    }

    /** @param lookup describes non-built-in types when {@link #prepare} meets them; never null */
    public TypeMapper(Lookup lookup) {
        this.lookup = Objects.requireNonNull(lookup, "lookup");
    }

    /**
     * The Row value of {@code text}, which PostgreSQL wrote for a value of type {@code typeOid}; never null,
     * never throws: text it cannot read comes back as it is.
     */
    public Object map(int typeOid, String text) {
        try {
            return parser(typeOid).parse(text);
        } catch (RuntimeException e) {
            // Odd server settings or a type that changed under us must not stop the stream: the text form is
            // still faithful.
            return text;
        }
    }

    /**
     * Learns the non-built-in types among {@code typeOids} (a Relation message's columns) from the lookup,
     * replacing what was known about them; built-in OIDs cost nothing. Call it for every Relation message,
     * before mapping that relation's tuples, so that a composite changed by DDL is read again.
     *
     * @throws io.deltaforge.api.RetryableException from the lookup, when the catalog cannot be read
     */
    public void prepare(int[] typeOids) {
        if (lookup == null) {
            return;
        }
        Set<Integer> wanted = null;
        for (int oid : typeOids) {
            if (Integer.compareUnsigned(oid, FIRST_NORMAL_OID) >= 0) {
                if (wanted == null) {
                    wanted = new HashSet<>();
                }
                wanted.add(oid);
            }
        }
        if (wanted == null) {
            return;
        }
        register(lookup.describe(wanted).values());
    }

    /**
     * The type's name as {@link io.deltaforge.api.ColumnType#type()} documents it: {@code pg_type.typname},
     * a domain's base type name, {@code _<element>} for arrays; the OID in decimal when the type is neither
     * built in nor described by the lookup.
     */
    public String typeName(int oid) {
        return typeName(oid, 0);
    }

    private String typeName(int oid, int depth) {
        String builtin = BUILTIN_NAMES.get(oid);
        if (builtin != null) {
            return builtin;
        }
        TypeInfo t = infos.get(oid);
        if (t == null || depth > 32) {
            return Integer.toUnsignedString(oid);
        }
        if (t.elementOid() != 0) {
            return "_" + typeName(t.elementOid(), depth + 1);
        }
        return t.kind() == 'd' ? typeName(t.baseOid(), depth + 1) : t.name();
    }

    /** The NOT NULL columns and the defaults of the table with this OID; none without a lookup. */
    public TableColumns tableColumns(int relationOid) {
        return lookup == null ? TableColumns.NONE : lookup.tableColumns(relationOid);
    }

    /** The labels of an enum (of an array's element, of a domain's base); empty for other types. */
    public List<String> labels(int oid) {
        int current = oid;
        for (int depth = 0; depth <= 32; depth++) {
            TypeInfo t = infos.get(current);
            if (t == null) {
                return List.of();
            }
            if (t.elementOid() != 0) {
                current = t.elementOid();
            } else if (t.kind() == 'd') {
                current = t.baseOid();
            } else {
                return t.labels();
            }
        }
        return List.of();
    }

    /**
     * The kind as {@link io.deltaforge.api.ColumnType#kind()} documents it: {@code pg_type.typtype} of the
     * type, of an array's element, of a domain's base; for built-in types {@code r} (ranges), {@code m}
     * (multiranges) or {@code b}; {@code b} for unknown types.
     */
    public char typeKind(int oid) {
        int current = oid;
        for (int depth = 0; depth <= 32; depth++) {
            String builtin = BUILTIN_NAMES.get(current);
            if (builtin != null) {
                String element = builtin.startsWith("_") ? builtin.substring(1) : builtin;
                return element.endsWith("multirange") ? 'm' : element.endsWith("range") ? 'r' : 'b';
            }
            TypeInfo t = infos.get(current);
            if (t == null) {
                return 'b';
            }
            if (t.elementOid() != 0) {
                current = t.elementOid();
            } else if (t.kind() == 'd') {
                current = t.baseOid();
            } else {
                return t.kind();
            }
        }
        return 'b';
    }

    /** Adds or replaces type descriptions and forgets the parsers built from the old ones. */
    void register(Iterable<TypeInfo> types) {
        for (TypeInfo t : types) {
            infos.put(t.oid(), t);
        }
        dynamic.clear();
    }

    /** The parser for a type OID, built and cached on first use. */
    ValueParser parser(int oid) {
        if (oid >= 0 && oid < FIRST_NORMAL_OID) {
            ValueParser p = BUILTIN[oid];
            return p == null ? ValueParser.TEXT : p;
        }
        ValueParser p = dynamic.get(oid);
        if (p == null) {
            p = build(oid, 0);
            dynamic.put(oid, p);
        }
        return p;
    }

    private ValueParser build(int oid, int depth) {
        if (oid >= 0 && oid < FIRST_NORMAL_OID) {
            ValueParser p = BUILTIN[oid];
            return p == null ? ValueParser.TEXT : p;
        }
        TypeInfo t = infos.get(oid);
        if (t == null || depth > 32) {
            return ValueParser.TEXT;
        }
        int next = depth + 1;
        if (t.elementOid() != 0) {
            return Structured.array(build(t.elementOid(), next), t.delimiter());
        }
        return switch (t.kind()) {
            case 'd' -> build(t.baseOid(), next);
            case 'r' -> Structured.range(build(t.baseOid(), next));
            case 'm' -> Structured.multirange(build(t.baseOid(), next));
            case 'c' -> {
                var fields = new java.util.ArrayList<ValueParser>(t.fieldTypes().size());
                for (int field : t.fieldTypes()) {
                    fields.add(build(field, next));
                }
                yield Structured.composite(t.fieldNames(), fields);
            }
            case 'b' -> t.name().equals("hstore") ? Structured::hstore : ValueParser.TEXT;
            default -> ValueParser.TEXT; // enums (the label), pseudo types, anything new
        };
    }

    // ---- built-ins -------------------------------------------------------------------------------------

    private static @Nullable ValueParser[] builtins() {
        @Nullable ValueParser[] p = new ValueParser[FIRST_NORMAL_OID];
        p[INT2] = Scalars::integer;
        p[INT4] = Scalars::integer;
        p[INT8] = Scalars::integer;
        p[OID] = Scalars::integer;
        p[FLOAT4] = Scalars::floating;
        p[FLOAT8] = Scalars::floating;
        p[NUMERIC] = Scalars::numeric;
        p[BOOL] = Scalars::bool;
        p[BYTEA] = Scalars::bytea;
        p[MONEY] = Scalars::money;
        p[JSON] = RawJson::new;
        p[JSONB] = RawJson::new;
        p[DATE] = Temporal::date;
        p[TIME] = Temporal::time;
        p[TIMETZ] = Temporal::timeTz;
        p[TIMESTAMP] = Temporal::timestamp;
        p[TIMESTAMPTZ] = Temporal::timestampTz;
        p[INTERVAL] = Temporal::interval;
        p[POINT] = Geometry::point;
        p[LINE] = Geometry::line;
        p[LSEG] = Geometry::lseg;
        p[BOX] = Geometry::box;
        p[PATH] = Geometry::path;
        p[POLYGON] = Geometry::polygon;
        p[CIRCLE] = Geometry::circle;
        // text-like types (text, varchar, bpchar, name, "char", uuid, xml, inet, cidr, macaddr, macaddr8, bit,
        // varbit, tsvector, tsquery, jsonpath, pg_lsn, ...) stay null: their text is the value.

        range(p, INT4RANGE, 4451, INT4);
        range(p, NUMRANGE, 4532, NUMERIC);
        range(p, TSRANGE, 4533, TIMESTAMP);
        range(p, TSTZRANGE, 4534, TIMESTAMPTZ);
        range(p, DATERANGE, 4535, DATE);
        range(p, INT8RANGE, 4536, INT8);

        // array OID -> element OID, from pg_type (typlen = -1, typelem <> 0), int2vector and oidvector
        // excluded: they print as "1 2 3", not as arrays. Bounded types share their element's parser.

        for (int[] a : ARRAYS) {
            ValueParser element = p[a[1]] == null ? ValueParser.TEXT : p[a[1]];
            // box is the one built-in type whose array delimiter is ';' (its text contains commas).
            p[a[0]] = Structured.array(element, a[1] == BOX ? ';' : ',');
        }
        return p;
    }

    private static Map<Integer, String> builtinNames() {
        Map<Integer, String> n = new java.util.HashMap<>();
        Object[][] names = {
                {BOOL, "bool"}, {BYTEA, "bytea"}, {CHAR, "char"}, {NAME, "name"}, {INT8, "int8"}, {INT2, "int2"},
                {INT4, "int4"}, {TEXT, "text"}, {OID, "oid"}, {JSON, "json"}, {XML, "xml"}, {POINT, "point"},
                {LSEG, "lseg"}, {PATH, "path"}, {BOX, "box"}, {POLYGON, "polygon"}, {LINE, "line"},
                {CIDR, "cidr"}, {FLOAT4, "float4"}, {FLOAT8, "float8"}, {CIRCLE, "circle"},
                {MACADDR8, "macaddr8"}, {MONEY, "money"}, {MACADDR, "macaddr"}, {INET, "inet"},
                {BPCHAR, "bpchar"}, {VARCHAR, "varchar"}, {DATE, "date"}, {TIME, "time"},
                {TIMESTAMP, "timestamp"}, {TIMESTAMPTZ, "timestamptz"}, {INTERVAL, "interval"},
                {TIMETZ, "timetz"}, {BIT, "bit"}, {VARBIT, "varbit"}, {NUMERIC, "numeric"}, {UUID, "uuid"},
                {TSVECTOR, "tsvector"}, {TSQUERY, "tsquery"}, {JSONB, "jsonb"}, {INT4RANGE, "int4range"},
                {NUMRANGE, "numrange"}, {TSRANGE, "tsrange"}, {TSTZRANGE, "tstzrange"},
                {DATERANGE, "daterange"}, {INT8RANGE, "int8range"}, {4451, "int4multirange"},
                {4532, "nummultirange"}, {4533, "tsmultirange"}, {4534, "tstzmultirange"},
                {4535, "datemultirange"}, {4536, "int8multirange"}, {3220, "pg_lsn"}, {4072, "jsonpath"},
                {28, "xid"}, {29, "cid"}, {5069, "xid8"},
        };
        for (Object[] e : names) {
            n.put((Integer) e[0], (String) e[1]);
        }
        for (int[] a : ARRAYS) {
            String element = n.get(a[1]);
            if (element != null) {
                n.put(a[0], "_" + element);
            }
        }
        return Map.copyOf(n);
    }

    private static void range(@Nullable ValueParser[] p, int range, int multirange, int bound) {
        ValueParser b = Objects.requireNonNull(p[bound]);
        p[range] = Structured.range(b);
        p[multirange] = Structured.multirange(b);
    }
}
