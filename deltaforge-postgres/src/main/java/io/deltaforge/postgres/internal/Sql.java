package io.deltaforge.postgres.internal;

import io.deltaforge.api.TableId;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** Small SQL helpers every class that talks to the server shares: identifier quoting and one-value queries. */
final class Sql {
    private Sql() {
    }

    /** {@code "schema"."table"}. */
    static String quoteTable(TableId t) {
        return quoteIdentifier(t.schema()) + "." + quoteIdentifier(t.table());
    }

    /** A double-quoted SQL identifier, so that case and special characters are kept. */
    static String quoteIdentifier(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    /** The first column of the first row of {@code sql}. */
    static String queryString(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
