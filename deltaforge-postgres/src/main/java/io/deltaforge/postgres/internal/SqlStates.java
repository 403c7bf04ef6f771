package io.deltaforge.postgres.internal;

import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import java.sql.SQLException;

/**
 * Turns a driver failure into the engine's error: what waiting may cure (network, server restarting, slot
 * busy) is retryable; wrong credentials, a missing database, slot or publication, missing privileges,
 * certificate problems and an invalidated slot are not. Each message ends with what to do.
 */
final class SqlStates {
    private SqlStates() {
    }

    /** The error for {@code e}, raised while doing {@code what} for source {@code s}. */
    static DeltaforgeException classify(SourceSettings s, String what, SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String message = "source '" + s.id() + "': " + what + " (" + s.dsn().describe() + "): " + e.getMessage()
                + (state.isEmpty() ? "" : " [SQLSTATE " + state + "]");
        if (state.equals("55006")) {                 // object in use: the slot is active elsewhere
            return new RetryableException(message + "; another connection is reading slot '" + s.slot() + "'", e);
        }
        if (certificateProblem(e)) {
            return new DeltaforgeException(message + "; fix: the server's certificate was not accepted: check "
                    + "sslrootcert (the CA that signed it) and, with sslmode=verify-full, that the certificate names "
                    + "host '" + s.dsn().host() + "'", e);
        }
        String fix = switch (state) {
            case "28P01" -> "check the user name and password in dsn (percent-encode special characters in URLs)";
            case "28000" -> "allow the connection in pg_hba.conf, e.g. 'host all " + s.dsn().user()
                    + " <client-ip>/32 scram-sha-256' and 'host replication " + s.dsn().user()
                    + " <client-ip>/32 scram-sha-256', then SELECT pg_reload_conf();";
            case "3D000" -> "create the database (CREATE DATABASE " + Sql.quoteIdentifier(s.dsn().database())
                    + ";) or fix the database name in dsn";
            case "42501" -> "grant the missing privilege; for replication: ALTER ROLE "
                    + Sql.quoteIdentifier(s.dsn().user()) + " WITH REPLICATION;";
            case "53300" -> "the server has no free connection or WAL sender; raise max_connections / "
                    + "max_wal_senders or stop unused clients; will retry";
            case "08001", "08004", "08006" -> "check host and port in dsn, that PostgreSQL is running and accepts "
                    + "TCP connections there (listen_addresses, firewall); will retry";
            default -> null;
        };
        if (fix != null) {
            message = message + "; fix: " + fix;
        }
        boolean permanent = state.startsWith("28")   // invalid authorization
                || state.equals("3D000")             // database does not exist
                || state.startsWith("42")            // undefined object (slot, publication), privileges, syntax
                || state.equals("55000");            // slot invalidated / not usable
        return permanent ? new DeltaforgeException(message, e) : new RetryableException(message, e);
    }

    /** A certificate that did not verify: no waiting cures that. */
    private static boolean certificateProblem(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.security.cert.CertificateException
                    || t instanceof java.security.cert.CertPathValidatorException
                    || t instanceof javax.net.ssl.SSLPeerUnverifiedException
                    || (t.getMessage() != null && t.getMessage().contains("could not be verified"))) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }
}
