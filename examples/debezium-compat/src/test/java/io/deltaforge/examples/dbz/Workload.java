package io.deltaforge.examples.dbz;

import java.util.List;

/**
 * The SQL both readers see: a table with a column of every type in docs/type-mapping.md, inserts, updates
 * and deletes under replica identity DEFAULT and FULL, an update that leaves a TOASTed value unchanged,
 * logical decoding messages, a transaction with a replication origin and a truncate. Columns with a
 * {@code DEFAULT} (constants of several types, function calls, a sequence) and NOT NULL ones without one are in
 * the schema Debezium writes and in the key-only old rows of updates and deletes.
 */
final class Workload {
    static final String PUBLICATION = "compat_pub";
    /** The prefix of the transactional logical message. */
    static final String MESSAGE_PREFIX = "audit";

    static final String SCHEMA = """
            CREATE EXTENSION IF NOT EXISTS hstore;
            CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
            CREATE DOMAIN positive_int AS int8 CHECK (VALUE > 0);
            CREATE TYPE pair AS (a int4, b text);
            CREATE TABLE all_types (
              id int4 PRIMARY KEY,
              i2 int2, i4 int4, i8 int8, o oid,
              num numeric(12,3), num_free numeric, f4 float4, f8 float8, b bool,
              t text, vc varchar(10), ch char(3), nm name, ch1 "char",
              by bytea, u uuid, j json, jb jsonb,
              d date, tm time, tm3 time(3), ttz timetz, ts timestamp, ts3 timestamp(3), tstz timestamptz,
              iv interval, mo money,
              ine inet, ci cidr, mac macaddr, mac8 macaddr8,
              bt bit(4), bt1 bit(1), vb varbit, x xml, tsv tsvector, tsq tsquery,
              pt point, ln line, ls lseg, bx box, pa path, pg polygon, cr circle,
              r4 int4range, r8 int8range, rn numrange, rts tsrange, rtstz tstzrange, rd daterange,
              a_i int4[], a_t text[], a_2d int4[][], a_n numeric[], a_d date[],
              en mood, dom positive_int, hs hstore,
              d_inf date, ts_inf timestamp, mr int4multirange, cp pair, tstz3 timestamptz(3), tm0 time(0),
              big text, big_bytes bytea, nn int4 NOT NULL DEFAULT 7,
              df_t text DEFAULT 'plain', df_vc varchar(10) NOT NULL DEFAULT 'ab', df_num numeric(8,2) DEFAULT 1.5,
              df_nf numeric DEFAULT '2.50'::numeric, df_b bool NOT NULL DEFAULT true, df_i8 int8 DEFAULT -42,
              df_f8 float8 DEFAULT 2.5, df_d date NOT NULL DEFAULT '2025-01-15', df_j jsonb DEFAULT '{"a": 1}',
              df_en mood NOT NULL DEFAULT 'ok', df_u uuid NOT NULL DEFAULT gen_random_uuid(), df_seq serial,
              df_null int4 DEFAULT NULL, df_ts timestamp DEFAULT now(), df_tstz timestamptz NOT NULL DEFAULT now(),
              df_tsc timestamptz DEFAULT '2025-01-15 10:30:00+02', df_tm time DEFAULT '12:30:00',
              df_iv interval DEFAULT '1 day 02:00:00', df_bt bit(3) DEFAULT B'101', df_bt1 bit(1) DEFAULT B'1',
              df_vb varbit(5) DEFAULT B'11',
              nd_i int4 NOT NULL, nd_t text NOT NULL, nd_b bool NOT NULL
            );
            -- The NOT NULL columns without a DEFAULT are filled here, so the inserts need not name them.
            CREATE FUNCTION fill_no_default() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              NEW.nd_i := coalesce(NEW.nd_i, 5); NEW.nd_t := coalesce(NEW.nd_t, 'set'); NEW.nd_b := coalesce(NEW.nd_b, true);
              RETURN NEW;
            END $$;
            CREATE TRIGGER fill_no_default BEFORE INSERT ON all_types FOR EACH ROW EXECUTE FUNCTION fill_no_default();
            ALTER TABLE all_types ALTER COLUMN big SET STORAGE EXTERNAL;
            ALTER TABLE all_types ALTER COLUMN big_bytes SET STORAGE EXTERNAL;
            CREATE PUBLICATION compat_pub FOR TABLE all_types;
            SELECT pg_replication_origin_create('upstream');
            """;

    /** Run before each comparison so every run starts from an empty table with identity DEFAULT. */
    static final String RESET = "TRUNCATE all_types; ALTER TABLE all_types REPLICA IDENTITY DEFAULT;";

    private static final String FULL_ROW = """
            INSERT INTO all_types VALUES (1,
              -32768, 2147483647, -9223372036854775808, 4000000000,
              123456789.125, 3.14159265358979323846264338327950288, 1.5, -2.25e-300, true,
              'héllo "w" 🙂', 'short', 'ab', 'a_name', 'x',
              '\\xdeadbeef', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1,  "a": [1, 2]}', '{"b": 1, "a": [1, 2]}',
              '2025-01-15', '10:30:00.123456', '10:30:00.123', '10:30:00.5+05:30', '2025-01-15 10:30:00.000001',
              '2025-01-15 10:30:00.123', '2025-01-15 10:30:00.5+02',
              '1 year 2 months -3 days 04:05:06.789', '-1234567.89',
              '2001:db8::1/64', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',
              B'1010', B'1', B'110011001', '<a>x</a>', 'a fat cat', 'fat & cat',
              '(1.5,-2)', '{1,-1,0}', '[(0,0),(1,1)]', '((1,1),(0,0))', '[(0,0),(1,1)]', '((0,0),(1,1),(1,0))', '<(0,0),2.5>',
              '[1,5)', '[10,20]', '(1.5,2.5]', '[2025-01-01 00:00,2025-02-01 00:00)',
              '[2025-01-01 00:00+00,infinity)', '[2025-01-01,2025-02-01)',
              '{1,2,NULL}', '{"a b","q\\"x",NULL}', '{{1,2},{3,4}}', '{1.5,2.25}', '{2025-01-15,1970-01-01}',
              'happy', 42, 'k=>v, "x y"=>NULL',
              NULL, NULL, '{[1,3),[5,7)}', ROW(1, 'x'), '2025-01-15 10:30:00.5+02', '10:30:00',
              repeat('toasted-', 2000), convert_to(repeat('bytes-', 2000), 'UTF8')
            );
            """;

    static final List<String> TRANSACTIONS = List.of(
            FULL_ROW,
            "INSERT INTO all_types (id) VALUES (2)",
            // The big value is not touched: the server sends it as unchanged TOAST.
            // A null in a column with a DEFAULT: Debezium's JSON converter writes the default instead.
            "UPDATE all_types SET i4 = 7, num = 0.5, df_t = NULL, df_i8 = NULL, df_tsc = NULL, df_tm = NULL, df_iv = NULL,"
                    + " df_bt = NULL, df_bt1 = NULL, df_vb = NULL WHERE id = 1",
            "DELETE FROM all_types WHERE id = 2",
            "SELECT pg_logical_emit_message(true, 'audit', 'in a transaction'); UPDATE all_types SET t = 'again' WHERE id = 1",
            "SELECT pg_logical_emit_message(false, 'loose', 'outside')",
            "ALTER TABLE all_types REPLICA IDENTITY FULL",
            "UPDATE all_types SET d = '1969-12-31', tm = '24:00:00', tm3 = '10:30:00.5', ts = '2025-01-15 10:30:00.5', "
                    + "ts3 = '1969-12-31 23:59:59.999' WHERE id = 1",
            "DELETE FROM all_types WHERE id = 1",
            "INSERT INTO all_types (id, num_free, f8, d_inf, ts_inf, tstz) VALUES (3, 'NaN', 'Infinity', 'infinity', '-infinity', 'infinity')",
            "INSERT INTO all_types (id, num_free, f4) VALUES (4, '-Infinity', '-Infinity'), (5, 'Infinity', 'NaN')",
            // As logical replication applies a transaction from another server: with a replication origin.
            "SELECT pg_replication_origin_session_setup('upstream'); "
                    + "SELECT pg_replication_origin_xact_setup('0/ABCDEF', now()); "
                    + "INSERT INTO all_types (id) VALUES (6)",
            "TRUNCATE all_types");

    /**
     * Rows in place before a snapshot: every type, nulls, NaN and infinities, but no NaN or infinite numeric:
     * Debezium's snapshot stops at one unless {@code decimal.handling.mode=string}.
     */
    static final List<String> SNAPSHOT_ROWS = List.of(
            FULL_ROW,
            "INSERT INTO all_types (id) VALUES (2)",
            "INSERT INTO all_types (id, f8, d_inf, ts_inf, tstz) VALUES (3, 'Infinity', 'infinity', '-infinity', 'infinity')",
            "INSERT INTO all_types (id, f4) VALUES (4, '-Infinity'), (5, 'NaN')");

    /** The snapshot's read events. */
    static final int SNAPSHOT_EVENTS = 5;

    /** Change events the transactions above produce (Debezium's tombstones not counted). */
    static final int EVENTS = 15;

    private Workload() {
    }
}
