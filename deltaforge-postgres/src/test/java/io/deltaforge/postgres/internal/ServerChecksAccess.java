package io.deltaforge.postgres.internal;

import io.deltaforge.api.TableId;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/** Lets tests in the public package reach package-private setup checks. */
public final class ServerChecksAccess {
    private ServerChecksAccess() {
    }

    public static List<String> identityWarnings(SourceSettings settings, Connection c, List<TableId> tables)
            throws SQLException {
        return ServerChecks.identityWarnings(settings, c, tables);
    }
}
