package io.deltaforge.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.postgres.internal.TypeCatalog;
import io.deltaforge.postgres.internal.TypeMapper;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import io.deltaforge.testkit.PostgresServer;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Differential test of the type mapping: for a table with a column of every supported type and nasty values,
 * each mapped value must mean the same as PostgreSQL's own {@code to_jsonb} of it (same number, same
 * instant, same bytes, same elements). Where {@code to_jsonb} has no structure (geometry), the mapped value
 * is written back as PostgreSQL text and the server normalises it for comparison.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TypeMappingIT {
    /** The settings the replication session uses (see {@link TypeMapper#SESSION_OPTIONS}). */
    private static final String[] SESSION = {
            "SET DateStyle = ISO", "SET TimeZone = UTC", "SET extra_float_digits = 3", "SET IntervalStyle = iso_8601",
            "SET lc_monetary = 'C'", "SET bytea_output = hex"};
    private static PostgresServer pg;

    // ---- the table ----------------------------------------------------------------------------------------

    private sealed interface Kind {
    }

    private enum Leaf implements Kind {
        NUMBER, BOOL, TEXT, BYTES, JSON, DATE, TIME, TIMETZ, TIMESTAMP, TIMESTAMPTZ, INTERVAL, HSTORE
    }

    private record Geometric(String type) implements Kind {
    }

    private record Array(Kind element) implements Kind {
    }

    private record Range(Kind bound) implements Kind {
    }

    private record Composite(Map<String, Kind> fields) implements Kind {
    }

    /** A column; {@code expected} is the SQL for PostgreSQL's JSON of it, with %s for the column. */
    private record Column(String name, String type, Kind kind, String expected) {
        Column(String name, String type, Kind kind) {
            this(name, type, kind, "to_jsonb(%s)");
        }
    }

    private static final String RANGE_JSON = "CASE WHEN %1$s IS NULL THEN NULL ELSE jsonb_build_object('lower', to_jsonb(lower(%1$s)), 'upper',"
            + " to_jsonb(upper(%1$s)), 'lower_inclusive', lower_inc(%1$s), 'upper_inclusive', upper_inc(%1$s),"
            + " 'empty', isempty(%1$s)) END";
    private static final String MULTIRANGE_JSON = "CASE WHEN %1$s IS NULL THEN NULL ELSE (SELECT"
            + " coalesce(jsonb_agg(" + String.format(RANGE_JSON, "r") + " ORDER BY r), '[]') FROM unnest(%1$s) r) END";
    private static final String RANGE_ARRAY_JSON = "CASE WHEN %1$s IS NULL THEN NULL ELSE (SELECT"
            + " coalesce(jsonb_agg(CASE WHEN r IS NULL THEN 'null'::jsonb ELSE " + String.format(RANGE_JSON, "r")
            + " END ORDER BY o), '[]') FROM unnest(%1$s) WITH ORDINALITY u(r, o)) END";

    private static final Composite ADDRESS = new Composite(linked("street", Leaf.TEXT, "no", Leaf.NUMBER,
            "tags", new Array(Leaf.TEXT), "at", Leaf.TIMESTAMPTZ, "mood", Leaf.TEXT, "amount", Leaf.NUMBER));

    private static final List<Column> COLUMNS = List.of(
            new Column("c_int2", "int2", Leaf.NUMBER),
            new Column("c_int4", "int4", Leaf.NUMBER),
            new Column("c_int8", "int8", Leaf.NUMBER),
            new Column("c_oid", "oid", Leaf.NUMBER),
            new Column("c_numeric", "numeric", Leaf.NUMBER),
            new Column("c_numeric_scaled", "numeric(12,4)", Leaf.NUMBER),
            new Column("c_float4", "float4", Leaf.NUMBER),
            new Column("c_float8", "float8", Leaf.NUMBER),
            new Column("c_bool", "bool", Leaf.BOOL),
            new Column("c_text", "text", Leaf.TEXT),
            new Column("c_varchar", "varchar(20)", Leaf.TEXT),
            new Column("c_char", "char(5)", Leaf.TEXT),
            new Column("c_name", "name", Leaf.TEXT),
            new Column("c_bytea", "bytea", Leaf.BYTES),
            new Column("c_uuid", "uuid", Leaf.TEXT),
            new Column("c_json", "json", Leaf.JSON),
            new Column("c_jsonb", "jsonb", Leaf.JSON),
            new Column("c_date", "date", Leaf.DATE),
            new Column("c_time", "time", Leaf.TIME),
            new Column("c_timetz", "timetz", Leaf.TIMETZ),
            new Column("c_ts", "timestamp", Leaf.TIMESTAMP),
            new Column("c_tstz", "timestamptz", Leaf.TIMESTAMPTZ),
            new Column("c_interval", "interval", Leaf.INTERVAL),
            new Column("c_money", "money", Leaf.NUMBER, "to_jsonb(%s::numeric)"),
            new Column("c_inet", "inet", Leaf.TEXT),
            new Column("c_cidr", "cidr", Leaf.TEXT),
            new Column("c_macaddr", "macaddr", Leaf.TEXT),
            new Column("c_macaddr8", "macaddr8", Leaf.TEXT),
            new Column("c_bit", "bit(4)", Leaf.TEXT),
            new Column("c_varbit", "varbit", Leaf.TEXT),
            new Column("c_xml", "xml", Leaf.TEXT),
            new Column("c_tsvector", "tsvector", Leaf.TEXT),
            new Column("c_tsquery", "tsquery", Leaf.TEXT),
            new Column("c_point", "point", new Geometric("point")),
            new Column("c_line", "line", new Geometric("line")),
            new Column("c_lseg", "lseg", new Geometric("lseg")),
            new Column("c_box", "box", new Geometric("box")),
            new Column("c_path", "path", new Geometric("path")),
            new Column("c_polygon", "polygon", new Geometric("polygon")),
            new Column("c_circle", "circle", new Geometric("circle")),
            new Column("c_int4range", "int4range", new Range(Leaf.NUMBER), RANGE_JSON),
            new Column("c_int8range", "int8range", new Range(Leaf.NUMBER), RANGE_JSON),
            new Column("c_numrange", "numrange", new Range(Leaf.NUMBER), RANGE_JSON),
            new Column("c_tsrange", "tsrange", new Range(Leaf.TIMESTAMP), RANGE_JSON),
            new Column("c_tstzrange", "tstzrange", new Range(Leaf.TIMESTAMPTZ), RANGE_JSON),
            new Column("c_daterange", "daterange", new Range(Leaf.DATE), RANGE_JSON),
            new Column("c_int4multirange", "int4multirange", new Array(new Range(Leaf.NUMBER)), MULTIRANGE_JSON),
            new Column("c_nummultirange", "nummultirange", new Array(new Range(Leaf.NUMBER)), MULTIRANGE_JSON),
            new Column("c_tstzmultirange", "tstzmultirange", new Array(new Range(Leaf.TIMESTAMPTZ)), MULTIRANGE_JSON),
            new Column("c_datemultirange", "datemultirange", new Array(new Range(Leaf.DATE)), MULTIRANGE_JSON),
            new Column("c_hstore", "hstore", Leaf.HSTORE),
            new Column("c_citext", "citext", Leaf.TEXT),
            new Column("c_cube", "cube", Leaf.TEXT, "to_jsonb(%s::text)"),
            new Column("c_pg_lsn", "pg_lsn", Leaf.TEXT),
            new Column("c_jsonpath", "jsonpath", Leaf.TEXT),
            new Column("c_mood", "mood", Leaf.TEXT),
            new Column("c_positive", "positive", Leaf.NUMBER),
            new Column("c_address", "address", ADDRESS),
            new Column("c_floatrange", "floatrange", new Range(Leaf.NUMBER), RANGE_JSON),
            new Column("c_int4_arr", "int4[]", new Array(Leaf.NUMBER)),
            new Column("c_int4_3d", "int4[][][]", new Array(new Array(new Array(Leaf.NUMBER)))),
            new Column("c_text_2d", "text[][]", new Array(new Array(Leaf.TEXT))),
            new Column("c_numeric_arr", "numeric[]", new Array(Leaf.NUMBER)),
            new Column("c_float8_arr", "float8[]", new Array(Leaf.NUMBER)),
            new Column("c_bool_arr", "bool[]", new Array(Leaf.BOOL)),
            new Column("c_tstz_arr", "timestamptz[]", new Array(Leaf.TIMESTAMPTZ)),
            new Column("c_date_arr", "date[]", new Array(Leaf.DATE)),
            new Column("c_interval_arr", "interval[]", new Array(Leaf.INTERVAL)),
            new Column("c_bytea_arr", "bytea[]", new Array(Leaf.BYTES)),
            new Column("c_jsonb_arr", "jsonb[]", new Array(Leaf.JSON)),
            new Column("c_uuid_arr", "uuid[]", new Array(Leaf.TEXT)),
            new Column("c_money_arr", "money[]", new Array(Leaf.NUMBER), "to_jsonb(%s::numeric[])"),
            new Column("c_point_arr", "point[]", new Array(new Geometric("point"))),
            new Column("c_box_arr", "box[]", new Array(new Geometric("box"))),
            new Column("c_int4range_arr", "int4range[]", new Array(new Range(Leaf.NUMBER)), RANGE_ARRAY_JSON),
            new Column("c_hstore_arr", "hstore[]", new Array(Leaf.HSTORE)),
            new Column("c_mood_arr", "mood[]", new Array(Leaf.TEXT)),
            new Column("c_address_arr", "address[]", new Array(ADDRESS)),
            new Column("c_positive_arr", "positive[]", new Array(Leaf.NUMBER)));

    /** Rows of SQL literals by column; a column not named is NULL. */
    private static final List<Map<String, String>> ROWS = List.of(
            typicalRow(),
            extremeRow(),
            emptyRow(),
            Map.of());

    private static Map<String, String> typicalRow() {
        Map<String, String> r = new LinkedHashMap<>();
        r.put("c_int2", "-32768");
        r.put("c_int4", "2147483647");
        r.put("c_int8", "-9223372036854775808");
        r.put("c_oid", "4294967295");
        r.put("c_numeric", "12345678901234567890.12345678901234567890");
        r.put("c_numeric_scaled", "12.5");
        r.put("c_float4", "0.1");
        r.put("c_float8", "0.1");
        r.put("c_bool", "true");
        r.put("c_text", "E'h\u00e9llo \u2603 \uD83D\uDE00 \"quoted\" \\\\back\\\\slash, {braces} (parens) \\t tab \\x01 \\x1f'");
        r.put("c_varchar", "'varchar ✓'");
        r.put("c_char", "'ab'");
        r.put("c_name", "'a name'");
        r.put("c_bytea", "'\\xdeadbeef00ff'");
        r.put("c_uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'");
        r.put("c_json", "'{\"b\": 1, \"a\": [1.50, \"x\", null, true], \"u\": \"\\u00e9😀\"}'");
        r.put("c_jsonb", "'{\"b\": 1e3, \"a\": {\"n\": -0.000001}}'");
        r.put("c_date", "'2025-01-15'");
        r.put("c_time", "'10:30:00.123456'");
        r.put("c_timetz", "'10:30:00.5+05:30'");
        r.put("c_ts", "'2025-01-15 10:30:00.000001'");
        r.put("c_tstz", "'2025-01-15 12:30:00.5+02'");
        r.put("c_interval", "'1 year 2 months -3 days 04:05:06.789'");
        r.put("c_money", "'-1234567.89'");
        r.put("c_inet", "'2001:db8::1/64'");
        r.put("c_cidr", "'10.0.0.0/8'");
        r.put("c_macaddr", "'08:00:2b:01:02:03'");
        r.put("c_macaddr8", "'08:00:2b:01:02:03:04:05'");
        r.put("c_bit", "B'0101'");
        r.put("c_varbit", "B'1'");
        r.put("c_xml", "'<a x=\"1\">caf\u00e9 &amp; 😀</a>'");
        r.put("c_tsvector", "'a fat cat sat on a mat'");
        r.put("c_tsquery", "'fat & (rat | cat)'");
        r.put("c_point", "'(1.5,-2)'");
        r.put("c_line", "'{1,-1,0}'");
        r.put("c_lseg", "'[(0,0),(1,1)]'");
        r.put("c_box", "'(0,0),(1,1)'");
        r.put("c_path", "'[(0,0),(1,1),(2,0)]'");
        r.put("c_polygon", "'((0,0),(1,1),(1,0))'");
        r.put("c_circle", "'<(0,0),2.5>'");
        r.put("c_int4range", "'[1,5)'");
        r.put("c_int8range", "'(,9223372036854775806]'");
        r.put("c_numrange", "'[0.5,)'");
        r.put("c_tsrange", "'[2025-01-01 00:00,2025-02-01 00:00)'");
        r.put("c_tstzrange", "'[2025-01-01 00:00+05,infinity]'");
        r.put("c_daterange", "'[2025-01-01,2025-01-31]'");
        r.put("c_int4multirange", "'{[1,3),[5,7)}'");
        r.put("c_nummultirange", "'{(,0.5],[1.5,2)}'");
        r.put("c_tstzmultirange", "'{[2025-01-01,2025-01-02)}'");
        r.put("c_datemultirange", "'{[2025-01-01,2025-01-05),[2025-02-01,)}'");
        r.put("c_hstore", "'a=>1, \"b c\"=>NULL, \"q\\\"x\"=>\"v\\\\w\", é=>😀'");
        r.put("c_mood", "'happy 😀'");
        r.put("c_citext", "'MiXeD ✓'");
        r.put("c_cube", "'(1,2),(3,4)'");
        r.put("c_pg_lsn", "'16/B374D848'");
        r.put("c_jsonpath", "'$.a[*] ? (@ > 1)'");
        r.put("c_positive", "42");
        r.put("c_address", "ROW('Main \"St\", 1 (rear)', 7, ARRAY['x', NULL, 'y z'], '2025-01-15 10:30+00',"
                + " 'sad', 1.50)::address");
        r.put("c_floatrange", "'[1.5,2.5)'");
        r.put("c_int4_arr", "'{1,NULL,3}'");
        r.put("c_int4_3d", "'{{{1,2},{3,NULL}},{{5,6},{7,8}}}'");
        r.put("c_text_2d", "ARRAY[ARRAY['a', NULL], ARRAY['NULL', ''], ARRAY['x,y', 'q\"\\z']]");
        r.put("c_numeric_arr", "'{1.10,NaN,-Infinity,NULL}'");
        r.put("c_float8_arr", "'{1e308,-0,NaN,Infinity,5e-324}'");
        r.put("c_bool_arr", "'{t,f,NULL}'");
        r.put("c_tstz_arr", "'{\"2025-01-15 10:30:00+00\",infinity,NULL}'");
        r.put("c_date_arr", "'{2025-01-15,-infinity}'");
        r.put("c_interval_arr", "'{\"1 day\",\"-00:00:01.5\",\"0\"}'");
        r.put("c_bytea_arr", "ARRAY['\\x00ff'::bytea, ''::bytea, NULL]");
        r.put("c_jsonb_arr", "ARRAY['{\"a\":1}'::jsonb, '[]', 'null', NULL]");
        r.put("c_uuid_arr", "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'");
        r.put("c_money_arr", "'{1.50,-2}'");
        r.put("c_point_arr", "'{\"(1,2)\",NULL,\"(3,4)\"}'");
        r.put("c_box_arr", "ARRAY['(1,1),(0,0)'::box, '(2,2),(1,1)']");
        r.put("c_int4range_arr", "ARRAY['[1,2)'::int4range, 'empty', NULL]");
        r.put("c_hstore_arr", "ARRAY['a=>1'::hstore, '', NULL]");
        r.put("c_mood_arr", "'{sad,\"happy 😀\",NULL}'");
        r.put("c_address_arr", "ARRAY[ROW('a', 1, '{}', NULL, 'ok', NULL)::address, NULL]");
        r.put("c_positive_arr", "'{1,2}'");
        return r;
    }

    private static Map<String, String> extremeRow() {
        Map<String, String> r = new LinkedHashMap<>();
        r.put("c_int2", "32767");
        r.put("c_int4", "-2147483648");
        r.put("c_int8", "9223372036854775807");
        r.put("c_oid", "0");
        r.put("c_numeric", "'1e-1000'");
        r.put("c_numeric_scaled", "-99999999.9999");
        r.put("c_float4", "'-Infinity'");
        r.put("c_float8", "'NaN'");
        r.put("c_bool", "false");
        r.put("c_text", "''");
        r.put("c_varchar", "' '");
        r.put("c_char", "''");
        r.put("c_name", "''");
        r.put("c_bytea", "''");
        r.put("c_json", "'\"just a string\"'");
        r.put("c_jsonb", "'123456789012345678901234567890.5'");
        r.put("c_date", "'0044-03-15 BC'");
        r.put("c_time", "'24:00:00'");
        r.put("c_timetz", "'00:00:00-14:59'");
        r.put("c_ts", "'294276-12-31 23:59:59.999999'");
        r.put("c_tstz", "'4713-01-01 00:00:00+00 BC'");
        r.put("c_interval", "'-178000000 years'");
        r.put("c_money", "'92233720368547758.07'");
        r.put("c_inet", "'0.0.0.0'");
        r.put("c_bit", "B'0000'");
        r.put("c_varbit", "B''");
        r.put("c_xml", "''");
        r.put("c_tsvector", "''");
        r.put("c_point", "'(1e+300,-1e-300)'");
        r.put("c_circle", "'<(0,0),0>'");
        r.put("c_path", "'((0,0))'");
        r.put("c_int4range", "'empty'");
        r.put("c_numrange", "'(,)'");
        r.put("c_tstzrange", "'(-infinity,\"2025-01-15 10:30:00.123456+00\"]'");
        r.put("c_daterange", "'[0044-03-15 BC,infinity)'");
        r.put("c_hstore", "''");
        r.put("c_mood", "'sad'");
        r.put("c_positive", "9223372036854775807");
        r.put("c_address", "ROW(NULL, NULL, NULL, NULL, NULL, NULL)::address");
        r.put("c_int4_arr", "'[0:2]={1,2,3}'");
        r.put("c_numeric_arr", "ARRAY['1e-1000'::numeric, '1e1000'::numeric]");
        r.put("c_tstz_arr", "'{\"0044-03-15 10:00:00+00 BC\"}'");
        return r;
    }

    private static Map<String, String> emptyRow() {
        Map<String, String> r = new LinkedHashMap<>();
        r.put("c_numeric", "'Infinity'");
        r.put("c_float4", "'NaN'");
        r.put("c_float8", "'-0'");
        r.put("c_text", "'NULL'");
        r.put("c_json", "'{}'");
        r.put("c_jsonb", "'[]'");
        r.put("c_date", "'infinity'");
        r.put("c_ts", "'-infinity'");
        r.put("c_tstz", "'infinity'");
        r.put("c_interval", "'0'");
        r.put("c_money", "'0'");
        r.put("c_int4multirange", "'{}'");
        r.put("c_hstore", "'\"\"=>\"\"'");
        r.put("c_int4_arr", "'{}'");
        r.put("c_int4_3d", "'{}'");
        r.put("c_text_2d", "'{}'");
        r.put("c_bytea_arr", "'{}'");
        r.put("c_int4range_arr", "'{}'");
        r.put("c_address_arr", "'{}'");
        r.put("c_address", "ROW('', 0, '{}', 'infinity', 'ok', 'NaN')::address");
        return r;
    }

    @BeforeAll
    static void startServer() {
        pg = PostgresServer.start();
        // Defaults that would change the text output; the sessions must override them.
        pg.execute("ALTER DATABASE postgres SET TimeZone = 'America/St_Johns';"
                + "ALTER DATABASE postgres SET DateStyle = 'SQL, DMY';"
                + "ALTER DATABASE postgres SET IntervalStyle = 'postgres_verbose';"
                + "ALTER DATABASE postgres SET extra_float_digits = 0");
        pg.execute("CREATE EXTENSION hstore; CREATE EXTENSION citext; CREATE EXTENSION cube;"
                + "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy 😀');"
                + "CREATE DOMAIN positive AS int8 CHECK (VALUE > 0);"
                + "CREATE TYPE address AS (street text, no int4, tags text[], at timestamptz, mood mood,"
                + " amount numeric);"
                + "CREATE TYPE floatrange AS RANGE (subtype = float8)");
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void everyTypesTextMapsToWhatToJsonbMeans() throws Exception {
        String table = createTable("every_type");
        insertRows(table, 1);
        Map<String, Integer> oids = typeOids(table);
        TypeMapper mapper = new TypeMapper(new TypeCatalog(pg::connect));
        mapper.prepare(oids.values().stream().mapToInt(Integer::intValue).toArray());
        List<String> problems = new ArrayList<>();
        try (Connection c = session()) {
            Map<Integer, Map<String, Object>> expected = expected(c, table);
            Map<Integer, Map<String, String>> texts = texts(c, table);
            for (var row : texts.entrySet()) {
                for (Column column : COLUMNS) {
                    String text = row.getValue().get(column.name());
                    Object mapped = text == null ? null : mapper.map(oids.get(column.name()), text);
                    String where = "row " + row.getKey() + " " + column.name() + " (text " + text + ")";
                    compare(c, where, column.kind(), mapped, expected.get(row.getKey()).get(column.name()), problems);
                }
            }
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void postgresStyleIntervalsMapLikeIso8601Ones() throws Exception {
        String table = createTable("intervals");
        insertRows(table, 1);
        TypeMapper mapper = new TypeMapper();
        try (Connection iso = session(); Connection postgres = session()) {
            try (Statement s = postgres.createStatement()) {
                s.execute("SET IntervalStyle = postgres");
            }
            Map<Integer, Map<String, String>> isoTexts = texts(iso, table);
            Map<Integer, Map<String, String>> pgTexts = texts(postgres, table);
            for (int id : isoTexts.keySet()) {
                for (String column : List.of("c_interval", "c_interval_arr")) {
                    String a = isoTexts.get(id).get(column);
                    String b = pgTexts.get(id).get(column);
                    int oid = column.endsWith("arr") ? 1187 : 1186;
                    assertThat(b == null ? null : mapper.map(oid, b)).as("%s of row %d: %s", column, id, b)
                            .isEqualTo(a == null ? null : mapper.map(oid, a));
                }
            }
        }
    }

    @Test
    void valuesThroughTheReplicationStreamMatchToJsonb() throws Exception {
        String table = createTable("streamed");
        pg.execute("CREATE PUBLICATION streamed_pub FOR TABLE " + table);
        List<String> problems = new ArrayList<>();
        try (PostgresSource source = PostgresSource.builder().id("types").dsn(pg.dsn()).slot("types_slot")
                .publication("streamed_pub").statusInterval(Duration.ofSeconds(1)).build()) {
            source.start();
            insertRows(table, 1);
            Map<Integer, Row> rows = new TreeMap<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            int commits = 0;
            while (commits < 1) {
                assertThat(System.nanoTime()).as("waiting for the insert transaction").isLessThan(deadline);
                SourceRecord r = source.poll(Duration.ofMillis(200));
                if (r instanceof ChangeEvent e && e.after() != null) {
                    rows.put(((Long) e.after().get("id")).intValue(), e.after());
                } else if (r instanceof TransactionCommit) {
                    commits++;
                }
            }
            assertThat(rows).hasSize(ROWS.size());
            try (Connection c = session()) {
                Map<Integer, Map<String, Object>> expected = expected(c, table);
                for (var row : rows.entrySet()) {
                    for (Column column : COLUMNS) {
                        compare(c, "streamed row " + row.getKey() + " " + column.name(), column.kind(),
                                row.getValue().get(column.name()), expected.get(row.getKey()).get(column.name()),
                                problems);
                    }
                }
            }
        }
        assertThat(problems).as("values through PostgresSource differ from to_jsonb. User types as text or"
                + " '@ 1 year' intervals mean the session is not wired: connect with TypeMapper.SESSION_OPTIONS"
                + " and call TypeMapper.prepare(typeOids) on each Relation message").isEmpty();
    }

    // ---- table and queries ----------------------------------------------------------------------------

    private static String createTable(String name) {
        StringBuilder ddl = new StringBuilder("CREATE TABLE " + name + " (id int PRIMARY KEY");
        for (Column c : COLUMNS) {
            ddl.append(", ").append(c.name()).append(' ').append(c.type());
        }
        pg.execute(ddl.append(')').toString());
        return name;
    }

    private static void insertRows(String table, int firstId) {
        StringBuilder sql = new StringBuilder();
        int id = firstId;
        for (Map<String, String> row : ROWS) {
            StringBuilder names = new StringBuilder("id");
            StringBuilder values = new StringBuilder(Integer.toString(id++));
            for (var e : row.entrySet()) {
                names.append(", ").append(e.getKey());
                values.append(", ").append(e.getValue());
            }
            sql.append("INSERT INTO ").append(table).append(" (").append(names).append(") VALUES (").append(values)
                    .append(");");
        }
        pg.execute(sql.toString());
    }

    private static Connection session() throws SQLException {
        Connection c = pg.connect();
        try (Statement s = c.createStatement()) {
            for (String set : SESSION) {
                s.execute(set);
            }
        }
        return c;
    }

    private static Map<String, Integer> typeOids(String table) throws SQLException {
        Map<String, Integer> out = new LinkedHashMap<>();
        try (Connection c = pg.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT attname, atttypid::int8 FROM pg_attribute WHERE attrelid = '"
                     + table + "'::regclass AND attnum > 0 AND NOT attisdropped")) {
            while (rs.next()) {
                out.put(rs.getString(1), (int) rs.getLong(2));
            }
        }
        return out;
    }

    /** Each row's columns as the server's text, by id. */
    private static Map<Integer, Map<String, String>> texts(Connection c, String table) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT id");
        for (Column column : COLUMNS) {
            // The output function's text, as pgoutput sends it; a ::text cast differs for char(n) and inet.
            // num_nulls, not IS NULL: a composite whose fields are all NULL IS NULL but is not a NULL value.
            sql.append(", CASE WHEN num_nulls(").append(column.name()).append(") = 1 THEN NULL ELSE format('%s', ")
                    .append(column.name()).append(") END");
        }
        Map<Integer, Map<String, String>> out = new TreeMap<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql + " FROM " + table)) {
            while (rs.next()) {
                Map<String, String> row = new LinkedHashMap<>();
                for (int i = 0; i < COLUMNS.size(); i++) {
                    row.put(COLUMNS.get(i).name(), rs.getString(i + 2));
                }
                out.put(rs.getInt(1), row);
            }
        }
        return out;
    }

    /** Each row's columns as PostgreSQL's JSON of them, parsed, by id; SQL NULL is null. */
    private static Map<Integer, Map<String, Object>> expected(Connection c, String table) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT id");
        for (Column column : COLUMNS) {
            sql.append(", (").append(String.format(column.expected(), column.name())).append(")::text");
        }
        Map<Integer, Map<String, Object>> out = new TreeMap<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql + " FROM " + table)) {
            while (rs.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (int i = 0; i < COLUMNS.size(); i++) {
                    String json = rs.getString(i + 2);
                    row.put(COLUMNS.get(i).name(), json == null ? null : Json.parse(json));
                }
                out.put(rs.getInt(1), row);
            }
        }
        return out;
    }

    // ---- semantic comparison ----------------------------------------------------------------------------

    private static void compare(Connection c, String where, Kind kind, Object mapped, Object expected,
                                List<String> problems) throws SQLException {
        if (expected == null || expected == Json.NULL) {
            // JSON null inside a json[] element is a value, not SQL NULL; to_jsonb cannot tell them apart.
            if (mapped != null && !(kind == Leaf.JSON && mapped.equals(new RawJson("null")))) {
                problems.add(where + ": expected null but mapped " + describe(mapped));
            }
            return;
        }
        if (mapped == null) {
            problems.add(where + ": mapped null but PostgreSQL has " + expected);
            return;
        }
        boolean same;
        try {
            same = same(c, kind, mapped, expected, where, problems);
        } catch (RuntimeException e) {
            same = false;
        }
        if (!same) {
            problems.add(where + ": mapped " + describe(mapped) + " but PostgreSQL has " + expected);
        }
    }

    private static boolean same(Connection c, Kind kind, Object mapped, Object expected, String where,
                                List<String> problems) throws SQLException {
        if (kind instanceof Array a) {
            if (!(mapped instanceof List<?> m) || !(expected instanceof List<?> x) || m.size() != x.size()) {
                return false;
            }
            for (int i = 0; i < m.size(); i++) {
                compare(c, where + "[" + i + "]", a.element(), m.get(i), x.get(i), problems);
            }
            return true;
        }
        if (kind instanceof Composite comp) {
            if (!(mapped instanceof Map<?, ?> m) || !(expected instanceof Map<?, ?> x)
                    || !List.copyOf(m.keySet()).equals(List.copyOf(comp.fields().keySet()))
                    || !m.keySet().equals(x.keySet())) {
                return false;
            }
            for (var f : comp.fields().entrySet()) {
                compare(c, where + "." + f.getKey(), f.getValue(), m.get(f.getKey()), x.get(f.getKey()), problems);
            }
            return true;
        }
        if (kind instanceof Range r) {
            if (!(mapped instanceof Map<?, ?> m) || !(expected instanceof Map<?, ?> x)
                    || !List.copyOf(m.keySet()).equals(
                    List.of("lower", "upper", "lower_inclusive", "upper_inclusive", "empty"))) {
                return false;
            }
            compare(c, where + ".lower", r.bound(), m.get("lower"), x.get("lower"), problems);
            compare(c, where + ".upper", r.bound(), m.get("upper"), x.get("upper"), problems);
            for (String flag : List.of("lower_inclusive", "upper_inclusive", "empty")) {
                compare(c, where + "." + flag, Leaf.BOOL, m.get(flag), x.get(flag), problems);
            }
            return true;
        }
        if (kind instanceof Geometric g) {
            // to_jsonb has only the text: write the mapped structure back and let the server normalise it.
            return normalise(c, geometryText(g.type(), mapped), g.type()).equals(expected);
        }
        return switch ((Leaf) kind) {
            case NUMBER -> sameNumber(mapped, expected);
            case BOOL -> mapped.equals(expected);
            case TEXT -> mapped.equals(expected);
            case BYTES -> Arrays.equals(Base64.getDecoder().decode((String) mapped),
                    HexFormat.of().parseHex(((String) expected).substring(2)));
            case JSON -> Json.same(Json.parse(((RawJson) mapped).json()), expected);
            case DATE -> isoDate((String) mapped).equals(pgDate((String) expected));
            case TIME -> micros((String) mapped) == micros((String) expected);
            case TIMETZ -> timeTz((String) mapped).equals(timeTz((String) expected));
            case TIMESTAMP -> special(mapped, expected) || LocalDateTime.parse(isoYear((String) mapped))
                    .equals(LocalDateTime.parse(pgYear((String) expected)));
            case TIMESTAMPTZ -> special(mapped, expected) || Instant.parse(isoYear((String) mapped))
                    .equals(OffsetDateTime.parse(pgYear((String) expected)).toInstant());
            case INTERVAL -> mapped.equals(expected) && ((String) mapped).startsWith("P");
            case HSTORE -> mapped instanceof Map<?, ?> && Json.same(mapped, expected);
        };
    }

    private static boolean special(Object mapped, Object expected) {
        return (expected.equals("infinity") || expected.equals("-infinity")) && mapped.equals(expected);
    }

    private static boolean sameNumber(Object mapped, Object expected) {
        if (mapped instanceof String s) {
            return s.equals(expected) && (s.equals("NaN") || s.equals("Infinity") || s.equals("-Infinity"));
        }
        if (expected instanceof String text) {
            expected = new BigDecimal(text); // to_jsonb writes oid as a string
        }
        if (!(expected instanceof BigDecimal x)) {
            return false;
        }
        if (mapped instanceof Double d) {
            return d == Double.parseDouble(x.toString());
        }
        BigDecimal m = mapped instanceof Long l ? BigDecimal.valueOf(l) : (BigDecimal) mapped;
        return m.compareTo(x) == 0;
    }

    /** {@code -0043-03-15} (ISO) as a date. */
    private static LocalDate isoDate(String s) {
        if (s.equals("infinity") || s.equals("-infinity")) {
            return s.startsWith("-") ? LocalDate.MIN : LocalDate.MAX;
        }
        return LocalDate.parse(isoYear(s));
    }

    /** {@code 0044-03-15 BC} (PostgreSQL's JSON) as a date. */
    private static LocalDate pgDate(String s) {
        if (s.equals("infinity") || s.equals("-infinity")) {
            return s.startsWith("-") ? LocalDate.MIN : LocalDate.MAX;
        }
        return LocalDate.parse(pgYear(s));
    }

    /** java.time wants a sign on years beyond four digits; ISO text already has one when needed. */
    private static String isoYear(String s) {
        return s;
    }

    /** PostgreSQL's JSON writes {@code 0044-... BC} and {@code 294276-...}; rewrite to ISO years. */
    private static String pgYear(String s) {
        boolean bc = s.endsWith(" BC");
        String body = bc ? s.substring(0, s.length() - 3) : s;
        int dash = body.indexOf('-');
        long year = Long.parseLong(body.substring(0, dash));
        if (bc) {
            year = 1 - year;
        }
        String y = year < 0 ? String.format("-%04d", -year) : year > 9999 ? "+" + year : String.format("%04d", year);
        return y + body.substring(dash);
    }

    private static long micros(String time) {
        long h = Long.parseLong(time.substring(0, 2));
        long m = Long.parseLong(time.substring(3, 5));
        BigDecimal s = new BigDecimal(time.substring(6));
        return (h * 3600 + m * 60) * 1_000_000 + s.movePointRight(6).longValueExact();
    }

    private static List<Long> timeTz(String time) {
        int sign = Math.max(time.lastIndexOf('+'), time.lastIndexOf('-'));
        String offset = time.substring(sign + 1);
        String[] parts = offset.split(":");
        long seconds = 0;
        for (int i = 0; i < parts.length; i++) {
            seconds += Long.parseLong(parts[i]) * (i == 0 ? 3600 : i == 1 ? 60 : 1);
        }
        return List.of(micros(time.substring(0, sign)), time.charAt(sign) == '-' ? -seconds : seconds);
    }

    private static String normalise(Connection c, String text, String type) throws SQLException {
        try (var ps = c.prepareStatement("SELECT to_jsonb(?::" + type + ")::text")) {
            ps.setString(1, text);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return (String) Json.parse(rs.getString(1));
            }
        }
    }

    private static String geometryText(String type, Object value) {
        Map<?, ?> m = (Map<?, ?>) value;
        return switch (type) {
            case "point" -> point(m);
            case "line" -> "{" + m.get("a") + "," + m.get("b") + "," + m.get("c") + "}";
            case "lseg" -> "[" + point(m.get("start")) + "," + point(m.get("end")) + "]";
            case "box" -> point(m.get("high")) + "," + point(m.get("low"));
            case "path" -> {
                String points = points(m.get("points"));
                yield Boolean.TRUE.equals(m.get("closed")) ? "(" + points + ")" : "[" + points + "]";
            }
            case "polygon" -> "(" + points(m.get("points")) + ")";
            case "circle" -> "<" + point(m.get("center")) + "," + m.get("radius") + ">";
            default -> throw new IllegalArgumentException(type);
        };
    }

    private static String point(Object p) {
        Map<?, ?> m = (Map<?, ?>) p;
        return "(" + m.get("x") + "," + m.get("y") + ")";
    }

    private static String points(Object list) {
        List<String> out = new ArrayList<>();
        for (Object p : (List<?>) list) {
            out.add(point(p));
        }
        return String.join(",", out);
    }

    private static String describe(Object value) {
        return value.getClass().getSimpleName() + " " + value;
    }

    @SafeVarargs
    private static <V> Map<String, V> linked(Object... pairs) {
        Map<String, V> out = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            @SuppressWarnings("unchecked")
            V v = (V) pairs[i + 1];
            out.put((String) pairs[i], v);
        }
        return out;
    }

    /** A small JSON reader for the test: numbers as BigDecimal, objects as ordered maps, null as {@link #NULL}. */
    private static final class Json {
        static final Object NULL = new Object() {
            @Override
            public String toString() {
                return "null";
            }
        };
        private final String s;
        private int i;

        private Json(String s) {
            this.s = s;
        }

        static Object parse(String text) {
            Json j = new Json(text);
            Object v = j.value();
            j.space();
            if (j.i != text.length()) {
                throw new IllegalArgumentException("trailing JSON: " + text);
            }
            return v;
        }

        /** Deep equality with numbers compared by value; a Java null and JSON null are the same. */
        static boolean same(Object a, Object b) {
            if (a == null || a == NULL) {
                return b == null || b == NULL;
            }
            if (a instanceof BigDecimal x && b instanceof BigDecimal y) {
                return x.compareTo(y) == 0;
            }
            if (a instanceof List<?> x && b instanceof List<?> y) {
                if (x.size() != y.size()) {
                    return false;
                }
                for (int k = 0; k < x.size(); k++) {
                    if (!same(x.get(k), y.get(k))) {
                        return false;
                    }
                }
                return true;
            }
            if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
                if (!x.keySet().equals(y.keySet())) {
                    return false;
                }
                for (Object k : x.keySet()) {
                    if (!same(x.get(k), y.get(k))) {
                        return false;
                    }
                }
                return true;
            }
            return Objects.equals(a, b);
        }

        private void space() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private Object value() {
            space();
            char c = s.charAt(i);
            switch (c) {
                case '{': {
                    i++;
                    Map<String, Object> m = new LinkedHashMap<>();
                    space();
                    if (s.charAt(i) == '}') {
                        i++;
                        return m;
                    }
                    while (true) {
                        space();
                        String k = string();
                        space();
                        expect(':');
                        m.put(k, value());
                        space();
                        if (s.charAt(i++) == '}') {
                            return m;
                        }
                    }
                }
                case '[': {
                    i++;
                    List<Object> l = new ArrayList<>();
                    space();
                    if (s.charAt(i) == ']') {
                        i++;
                        return l;
                    }
                    while (true) {
                        l.add(value());
                        space();
                        if (s.charAt(i++) == ']') {
                            return l;
                        }
                    }
                }
                case '"':
                    return string();
                case 't':
                    i += 4;
                    return Boolean.TRUE;
                case 'f':
                    i += 5;
                    return Boolean.FALSE;
                case 'n':
                    i += 4;
                    return NULL;
                default: {
                    int start = i;
                    while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
                        i++;
                    }
                    return new BigDecimal(s.substring(start, i));
                }
            }
        }

        private void expect(char c) {
            if (s.charAt(i++) != c) {
                throw new IllegalArgumentException("expected " + c + " at " + (i - 1) + " in " + s);
            }
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                }
                if (c == '\\') {
                    char e = s.charAt(i++);
                    switch (e) {
                        case 'n' -> b.append('\n');
                        case 't' -> b.append('\t');
                        case 'r' -> b.append('\r');
                        case 'b' -> b.append('\b');
                        case 'f' -> b.append('\f');
                        case 'u' -> {
                            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                            i += 4;
                        }
                        default -> b.append(e);
                    }
                } else {
                    b.append(c);
                }
            }
        }
    }
}
