package io.deltaforge.postgres.internal;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every connection the source opens, from its dsn: the same timeouts and keep-alive for all, an
 * application name that tells them apart in pg_stat_activity, and, where values are read as text, the
 * session options {@link TypeMapper} expects.
 */
final class Connections {
    private static final Logger log = LoggerFactory.getLogger(Connections.class);

    private Connections() {
    }

    /** A normal connection for checks, slot handling, bookkeeping and heartbeats. */
    static Connection admin(SourceSettings s) throws SQLException {
        return open(s, base(s, "deltaforge-" + s.id()));
    }

    /** A normal connection to one host of the dsn, whatever its role; for checks of the standbys. */
    static Connection adminTo(SourceSettings s, Dsn.Endpoint host) throws SQLException {
        Dsn one = s.dsn().only(host);
        return DriverManager.getConnection(one.jdbcUrl(), withDefaults(one.properties(), "deltaforge-" + s.id()));
    }

    /**
     * A replication connection (walsender) in database mode. The walsender formats pgoutput's text values
     * with its own session settings, so they get {@link TypeMapper#SESSION_OPTIONS}.
     */
    static Connection replication(SourceSettings s) throws SQLException {
        Properties props = base(s, "deltaforge-" + s.id());
        PGProperty.REPLICATION.set(props, "database");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "10");
        PGProperty.PREFER_QUERY_MODE.set(props, "simple");
        withSessionOptions(props);
        return open(s, props);
    }

    /**
     * A normal connection whose text output is what {@link TypeMapper} expects: the streaming session
     * options, and no binary transfer, so every value arrives as its type's output-function text, exactly as
     * pgoutput sends it. For snapshot reads and type lookups.
     */
    static Connection textValues(SourceSettings s) throws SQLException {
        Properties props = base(s, "deltaforge-" + s.id() + "-snapshot");
        PGProperty.BINARY_TRANSFER.set(props, "false");
        withSessionOptions(props);
        return open(s, props);
    }

    static void closeQuietly(@Nullable Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (SQLException | RuntimeException e) {
            log.debug("closing a connection failed: {}", e.getMessage());
        }
    }

    /** The dsn's properties; what the dsn sets itself is kept. */
    private static Properties base(SourceSettings s, String applicationName) {
        return withDefaults(s.dsn().properties(), applicationName);
    }

    private static Properties withDefaults(Properties props, String applicationName) {
        props.putIfAbsent(PGProperty.APPLICATION_NAME.getName(), applicationName);
        props.putIfAbsent(PGProperty.CONNECT_TIMEOUT.getName(), "10");
        props.putIfAbsent(PGProperty.TCP_KEEP_ALIVE.getName(), "true");
        return props;
    }

    private static void withSessionOptions(Properties props) {
        String options = props.getProperty(PGProperty.OPTIONS.getName());
        PGProperty.OPTIONS.set(props, options == null || options.isBlank() ? TypeMapper.SESSION_OPTIONS
                : options + " " + TypeMapper.SESSION_OPTIONS);
    }

    private static Connection open(SourceSettings s, Properties props) throws SQLException {
        return DriverManager.getConnection(s.dsn().jdbcUrl(), props);
    }
}
