package io.deltaforge.postgres.internal;

import io.deltaforge.api.ColumnType;
import io.deltaforge.api.Row;
import io.deltaforge.api.TableId;
import io.deltaforge.api.internal.condition.Condition;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * How to read one captured table in key order, a chunk at a time: the published columns (the publication's
 * column list applied), the key, the publication's row filter, and the keyset query. Shared by the initial
 * (exported-snapshot) and the incremental (watermark) snapshot, so that both read exactly what the stream
 * would publish and map values through the same {@link TypeMapper}.
 *
 * <p>Immutable once described; {@link #read} may run on any connection opened by
 * {@link Connections#textValues} (text transfer, the streaming session options).
 */
final class TableScan {
    /** Which unique key orders and identifies the rows. */
    enum KeyChoice {
        /** The primary key; {@code ctid} when there is none (stable only inside one transaction). */
        PRIMARY_KEY_OR_CTID,
        /**
         * The columns a streamed change names the row by: the replica identity index when the table uses
         * {@code REPLICA IDENTITY USING INDEX}, otherwise the primary key; none when neither exists.
         */
        IDENTITY
    }

    /** One row read: its key as text (for the next keyset query), the id key text, and the mapped row. */
    record ScannedRow(String[] keyText, String idKey, Row row) {
    }

    final TableId table;
    final List<String> columns;
    final int[] typeOids;
    /**
     * Each column's type as a cast target without its modifier (schema-qualified, quoted where needed), for
     * the literals of a {@link ConditionSql}.
     */
    final List<String> castTypes;
    /** Indexes into columns of the key columns, in index order; empty: page by ctid. */
    final int[] key;
    final String[] keyTypes;
    final List<String> keyColumns;
    /** Every scanned column with its declared type, as streamed events carry them. */
    final List<ColumnType> columnTypes;
    final @Nullable String rowFilter;
    final long estimate;
    /** The table's columns and keys as the catalog showed them just before this description; see {@link #shape}. */
    final String shape;

    private TableScan(TableId table, List<String> columns, int[] typeOids, List<ColumnType> columnTypes,
                      List<String> castTypes, int[] key, String[] keyTypes, @Nullable String rowFilter, long estimate,
                      String shape) {
        this.table = table;
        this.columnTypes = List.copyOf(columnTypes);
        this.columns = List.copyOf(columns);
        this.typeOids = typeOids;
        this.castTypes = List.copyOf(castTypes);
        this.key = key;
        this.keyTypes = keyTypes;
        this.keyColumns = Arrays.stream(key).mapToObj(this.columns::get).toList();
        this.rowFilter = rowFilter;
        this.estimate = estimate;
        this.shape = shape;
    }

    /** Reads the table's description from the catalog and prepares its types in {@code types}. */
    static TableScan describe(Connection c, String publication, TableId table, TypeMapper types, KeyChoice choice)
            throws SQLException {
        // Taken first: a change after it makes a later shape() differ, so it is never missed.
        String shape = shape(c, table);
        Set<String> published = publishedColumns(c, publication, table);
        String keyIndex = choice == KeyChoice.PRIMARY_KEY_OR_CTID ? "i.indisprimary"
                : "CASE WHEN cl.relreplident = 'i' THEN i.indisreplident ELSE i.indisprimary END";
        String sql = "SELECT a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod), "
                + "(SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i JOIN pg_class cl "
                + "ON cl.oid = i.indrelid WHERE i.indrelid = a.attrelid AND " + keyIndex + "), "
                // By name, not format_type(), whose 'character' casts to char(1): a cast without the modifier.
                + "(SELECT quote_ident(n.nspname) || '.' || quote_ident(t.typname) FROM pg_type t JOIN pg_namespace "
                + "n ON n.oid = t.typnamespace WHERE t.oid = a.atttypid), a.atttypmod, a.attnotnull, "
                + "(SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d WHERE d.adrelid = a.attrelid "
                + "AND d.adnum = a.attnum) FROM pg_attribute a WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped "
                + "AND a.attgenerated = '' ORDER BY a.attnum";
        List<String> columns = new ArrayList<>();
        List<Integer> oids = new ArrayList<>();
        List<Integer> typeMods = new ArrayList<>();
        List<Boolean> optional = new ArrayList<>();
        List<String> defaults = new ArrayList<>();
        List<String> castTypes = new ArrayList<>();
        List<int[]> keyParts = new ArrayList<>(); // {column index, position in the index}
        List<String> keyTypeList = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, Sql.quoteTable(table));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String name = rs.getString(1);
                    if (published != null && !published.contains(name)) {
                        continue;
                    }
                    int index = columns.size();
                    columns.add(name);
                    oids.add((int) rs.getLong(2));
                    castTypes.add(rs.getString(5));
                    typeMods.add(rs.getInt(6));
                    optional.add(!rs.getBoolean(7));
                    defaults.add(rs.getString(8));
                    int pos = rs.getInt(4);
                    if (!rs.wasNull()) {
                        keyParts.add(new int[] {index, pos, keyTypeList.size()});
                        keyTypeList.add(rs.getString(3));
                    }
                }
            }
        }
        // Key columns in index order, not table order: that is the order the keyset query compares.
        keyParts.sort((a, b) -> Integer.compare(a[1], b[1]));
        int[] key = new int[keyParts.size()];
        String[] keyTypes = new String[keyParts.size()];
        for (int i = 0; i < key.length; i++) {
            key[i] = keyParts.get(i)[0];
            keyTypes[i] = keyTypeList.get(keyParts.get(i)[2]);
        }
        int[] typeOids = oids.stream().mapToInt(Integer::intValue).toArray();
        types.prepare(typeOids);
        List<ColumnType> columnTypes = new ArrayList<>(columns.size());
        for (int i = 0; i < columns.size(); i++) {
            columnTypes.add(new ColumnType(columns.get(i), types.typeName(typeOids[i]), typeMods.get(i),
                    types.typeKind(typeOids[i]), optional.get(i), types.labels(typeOids[i]), defaults.get(i)));
        }
        return new TableScan(table, columns, typeOids, columnTypes, castTypes, key, keyTypes,
                rowFilter(c, publication, table), estimate(c, table), shape);
    }

    /**
     * {@code condition} rendered for this table's published columns and their types.
     *
     * @throws IllegalArgumentException naming a column the table does not publish
     */
    ConditionSql render(Condition condition) {
        return ConditionSql.render(condition, table, columns, castTypes);
    }

    /**
     * A fingerprint of the table's columns (names, types), its replica identity and its key indexes, in one
     * cheap catalog query: when it differs from {@link #shape}, this description is out of date.
     */
    static String shape(Connection c, TableId table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT r.relreplident::text || '|' || coalesce((SELECT "
                + "string_agg(a.attname || ' ' || a.atttypid || ' ' || a.atttypmod || ' ' || a.attgenerated::text, ',' "
                + "ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT "
                + "a.attisdropped), '') || '|' || coalesce((SELECT string_agg(i.indexrelid || ' ' || i.indkey::text "
                + "|| ' ' || i.indisprimary || ' ' || i.indisreplident, ',' ORDER BY i.indexrelid) FROM pg_index i "
                + "WHERE i.indrelid = r.oid AND (i.indisprimary OR i.indisreplident)), '') "
                + "FROM pg_class r WHERE r.oid = ?::regclass")) {
            ps.setString(1, Sql.quoteTable(table));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : "";
            }
        }
    }

    /**
     * Reads up to {@code limit} rows after {@code after} (null: from the start) in key order, applying the
     * publication's row filter and {@code condition} (null: none).
     */
    List<ScannedRow> read(Connection c, TypeMapper types, String @Nullable [] after, int limit,
                          @Nullable ConditionSql condition) throws SQLException {
        return read(c, types, after, null, limit, condition);
    }

    /** As above, and no further than the key {@code upTo} (inclusive; null: to the end). */
    List<ScannedRow> read(Connection c, TypeMapper types, String @Nullable [] after, String @Nullable [] upTo,
                          int limit, @Nullable ConditionSql condition) throws SQLException {
        StringBuilder select = new StringBuilder();
        if (key.length == 0) {
            // Aliased: ORDER BY ctid would otherwise sort by this text column, not by the tuple id.
            select.append("ctid::text AS deltaforge_ctid, ");
        }
        for (int i = 0; i < columns.size(); i++) {
            select.append(i == 0 ? "" : ", ").append(Sql.quoteIdentifier(columns.get(i)));
        }
        if (columns.isEmpty()) {
            select.append("NULL");
        }
        String sql = query(select.toString(), after, upTo, condition) + " LIMIT " + limit;
        int offset = key.length == 0 ? 1 : 0;
        List<ScannedRow> out = new ArrayList<>(Math.min(limit, 1024));
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            bind(ps, condition, after, upTo);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Object[] values = new Object[columns.size()];
                    String[] texts = new String[columns.size()];
                    for (int i = 0; i < columns.size(); i++) {
                        String text = rs.getString(offset + i + 1);
                        texts[i] = text;
                        values[i] = text == null ? null : types.map(typeOids[i], text);
                    }
                    String[] keyText;
                    String idKey;
                    if (key.length == 0) {
                        keyText = new String[] {rs.getString(1)};
                        idKey = "ctid:" + keyText[0];
                    } else {
                        keyText = new String[key.length];
                        StringBuilder id = new StringBuilder();
                        for (int i = 0; i < key.length; i++) {
                            keyText[i] = texts[key[i]];
                            // Length-prefixed, so that no two keys render alike.
                            id.append(keyText[i].length()).append(':').append(keyText[i]);
                        }
                        idKey = id.toString();
                    }
                    out.add(new ScannedRow(keyText, idKey, Row.of(columns, values)));
                }
            }
        }
        return out;
    }

    /**
     * The key text of the {@code limit}-th row after {@code after} in key order (the last row of that chunk),
     * or null when fewer rows follow; reads the key columns only. Needs a key.
     */
    String @Nullable [] boundary(Connection c, String @Nullable [] after, String @Nullable [] upTo, int limit,
                                 @Nullable ConditionSql condition) throws SQLException {
        StringBuilder select = new StringBuilder();
        for (int i = 0; i < key.length; i++) {
            // Aliased: ORDER BY the column name would otherwise sort by this text, not by the key's type.
            select.append(i == 0 ? "" : ", ").append(Sql.quoteIdentifier(columns.get(key[i])))
                    .append("::text AS deltaforge_k").append(i);
        }
        String sql = query(select.toString(), after, upTo, condition) + " OFFSET " + (limit - 1) + " LIMIT 1";
        return firstKey(c, sql, condition, after, upTo);
    }

    /**
     * The highest key now (matching the condition), or null when no row matches: an incremental snapshot
     * reads up to it, since rows inserted later reach the consumer through the stream anyway.
     */
    String @Nullable [] maxKey(Connection c, @Nullable ConditionSql condition) throws SQLException {
        StringBuilder select = new StringBuilder();
        for (int i = 0; i < key.length; i++) {
            // Aliased: ORDER BY the column name would otherwise sort by this text, not by the key's type.
            select.append(i == 0 ? "" : ", ").append(Sql.quoteIdentifier(columns.get(key[i])))
                    .append("::text AS deltaforge_k").append(i);
        }
        String sql = query(select.toString(), null, null, condition, true) + " LIMIT 1";
        return firstKey(c, sql, condition, null, null);
    }

    private String @Nullable [] firstKey(Connection c, String sql, @Nullable ConditionSql condition,
                                        String @Nullable [] after, String @Nullable [] upTo) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            bind(ps, condition, after, upTo);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                String[] out = new String[key.length];
                for (int i = 0; i < key.length; i++) {
                    out[i] = rs.getString(i + 1);
                }
                return out;
            }
        }
    }

    /** Binds in the order {@link #query} places the placeholders: condition, after, upTo. */
    private static void bind(PreparedStatement ps, @Nullable ConditionSql condition, String @Nullable [] after,
                             String @Nullable [] upTo) throws SQLException {
        int n = condition == null ? 1 : condition.bind(ps, 1);
        if (after != null) {
            for (String k : after) {
                ps.setString(n++, k);
            }
        }
        if (upTo != null) {
            for (String k : upTo) {
                ps.setString(n++, k);
            }
        }
    }

    /** SELECT {@code select} FROM the table WHERE filters and keyset ORDER BY key (no LIMIT). */
    private String query(String select, String @Nullable [] after, String @Nullable [] upTo,
                         @Nullable ConditionSql condition) {
        return query(select, after, upTo, condition, false);
    }

    private String query(String select, String @Nullable [] after, String @Nullable [] upTo,
                         @Nullable ConditionSql condition, boolean descending) {
        StringBuilder sql = new StringBuilder("SELECT ").append(select);
        sql.append(" FROM ").append(Sql.quoteTable(table));
        List<String> conditions = new ArrayList<>();
        if (rowFilter != null) {
            conditions.add("(" + rowFilter + ")");
        }
        if (condition != null) {
            conditions.add(condition.sql());
        }
        if (after != null) {
            if (key.length == 0) {
                conditions.add("ctid > ?::tid");
            } else {
                StringBuilder left = new StringBuilder("(");
                StringBuilder right = new StringBuilder("(");
                for (int i = 0; i < key.length; i++) {
                    left.append(i == 0 ? "" : ", ").append(Sql.quoteIdentifier(columns.get(key[i])));
                    right.append(i == 0 ? "" : ", ").append("?::").append(keyTypes[i]);
                }
                conditions.add(left + ") > " + right + ")");
            }
        }
        if (upTo != null && key.length > 0) {
            StringBuilder left = new StringBuilder("(");
            StringBuilder right = new StringBuilder("(");
            for (int i = 0; i < key.length; i++) {
                left.append(i == 0 ? "" : ", ").append(Sql.quoteIdentifier(columns.get(key[i])));
                right.append(i == 0 ? "" : ", ").append("?::").append(keyTypes[i]);
            }
            conditions.add(left + ") <= " + right + ")");
        }
        if (!conditions.isEmpty()) {
            sql.append(" WHERE ").append(String.join(" AND ", conditions));
        }
        sql.append(" ORDER BY ");
        if (key.length == 0) {
            sql.append("ctid");
        } else {
            for (int i = 0; i < key.length; i++) {
                sql.append(i == 0 ? "" : ", ").append(Sql.quoteIdentifier(columns.get(key[i])))
                        .append(descending ? " DESC" : "");
            }
        }
        return sql.toString();
    }

    /**
     * The key of a row as a comparable string built from its mapped key values, or null when the row lacks a
     * key column. Snapshot rows and streamed rows go through the same {@link TypeMapper}, so the same key gives
     * the same string either way.
     */
    @Nullable String matchKey(@Nullable Row row) {
        if (row == null || key.length == 0) {
            return null;
        }
        StringBuilder out = new StringBuilder();
        for (int k : key) {
            String column = columns.get(k);
            if (!row.hasColumn(column)) {
                return null;
            }
            Object v = row.get(column);
            String text = v instanceof byte[] b ? Arrays.toString(b) : String.valueOf(v);
            out.append(text.length()).append(':').append(text);
        }
        return out.toString();
    }

    /** The publication's column list for the table (PostgreSQL 15+), or null for every column. */
    private static @Nullable Set<String> publishedColumns(Connection c, String publication, TableId table)
            throws SQLException {
        if (c.getMetaData().getDatabaseMajorVersion() < 15) {
            return null;
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT attnames FROM pg_publication_tables "
                + "WHERE pubname = ? AND schemaname = ? AND tablename = ?")) {
            ps.setString(1, publication);
            ps.setString(2, table.schema());
            ps.setString(3, table.table());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                Array names = rs.getArray(1);
                if (names == null) {
                    return null;
                }
                Set<String> out = new HashSet<>();
                for (Object o : (Object[]) names.getArray()) {
                    out.add(String.valueOf(o));
                }
                return out;
            }
        }
    }

    /** The publication's row filter for the table (PostgreSQL 15+), or null. */
    private static @Nullable String rowFilter(Connection c, String publication, TableId table) throws SQLException {
        if (c.getMetaData().getDatabaseMajorVersion() < 15) {
            return null;
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT rowfilter FROM pg_publication_tables "
                + "WHERE pubname = ? AND schemaname = ? AND tablename = ?")) {
            ps.setString(1, publication);
            ps.setString(2, table.schema());
            ps.setString(3, table.table());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /** The planner's row estimate (pg_class.reltuples), 0 when unknown. */
    static long estimate(Connection c, TableId table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = ?::regclass")) {
            ps.setString(1, Sql.quoteTable(table));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        }
    }
}
