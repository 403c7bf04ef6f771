package io.deltaforge.postgres.internal;

import io.deltaforge.api.ConfigException;
import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import org.jspecify.annotations.Nullable;

/**
 * A parsed PostgreSQL connection string. Accepts the four spellings users paste:
 * <ul>
 *   <li>{@code postgres://user:pass@host:5432/db?sslmode=require} (and {@code postgresql://})</li>
 *   <li>libpq keyword/value: {@code host=db port=5432 dbname=app user=me password='p w'}</li>
 *   <li>{@code jdbc:postgresql://host:5432/db?user=me&password=secret}</li>
 * </ul>
 * User and password in URLs are percent-decoded; special characters ({@code @ / ? : %}) must be
 * percent-encoded there, as libpq requires. Parameters other than host, port, database, user and password
 * are passed to pgjdbc as connection properties, with the common libpq names translated
 * ({@code connect_timeout}, {@code application_name}).
 *
 * <p>TLS uses libpq's parameters, which pgjdbc shares: {@code sslmode} (disable, allow, prefer, require,
 * verify-ca, verify-full; checked here), {@code sslrootcert} (PEM file of the CA), {@code sslcert} and
 * {@code sslkey} (client certificate and key, PEM or PKCS-8 DER; PKCS-12 {@code .p12} also works),
 * {@code sslpassword}. Two libpq rules pgjdbc does not apply by itself are applied in
 * {@link #properties()}: {@code sslmode=require} with an explicit {@code sslrootcert} verifies the server
 * certificate against it (as {@code verify-ca}), and {@code sslrootcert=system} uses the JVM's trusted CAs
 * and implies {@code verify-full}. Without {@code sslmode}, pgjdbc's default ({@code prefer}) applies.
 *
 * <p>Several hosts ({@code postgres://u@a:5432,b:5433/db}, {@code host=a,b port=5432,5433}, or pgjdbc's
 * {@code jdbc:postgresql://a:5432,b:5433/db}) name the servers of one cluster, tried in order. libpq's
 * {@code target_session_attrs} becomes pgjdbc's {@code targetServerType}: {@code read-write} and
 * {@code primary} connect to the server that accepts writes, {@code any} to the first that answers. With
 * several hosts it defaults to {@code primary}, since a source follows the primary (its slot is written
 * there); the standby values are refused, for the same reason.
 *
 * <p>Error messages start with {@code dsn:} and never contain the password; {@link #toString()} redacts it.
 *
 * @param hosts    the servers, in the order they are tried; at least one
 * @param database database name; the user name when not given (libpq's rule)
 * @param user     user name
 * @param password password, null when not given (trust, certificate or .pgpass authentication)
 * @param params   the other parameters, under pgjdbc property names, in the order given
 */
public record Dsn(List<Endpoint> hosts, String database, String user, @Nullable String password,
                  Map<String, String> params) {
    public static final int DEFAULT_PORT = 5432;
    /** pgjdbc's name for libpq's {@code target_session_attrs}. */
    static final String TARGET_SERVER_TYPE = "targetServerType";
    /**
     * How long pgjdbc trusts what it learnt of a host (primary, standby, down) before trying it again for a
     * role it did not have; its default of 10 s would hold a promoted standby back that long.
     */
    static final String HOST_RECHECK_SECONDS = "2";
    private static final String URL_EXAMPLE = "postgres://user:password@host:5432/database";
    private static final String FORMS = "expected " + URL_EXAMPLE + ", host=... port=... dbname=... user=... "
            + "password=..., or jdbc:postgresql://host:5432/database?user=...&password=...";

    /**
     * One server of the DSN.
     *
     * @param host host name or IP address, never blank
     * @param port TCP port, 5432 when not given
     */
    public record Endpoint(String host, int port) {
        public Endpoint {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String toString() {
            return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
        }
    }

    public Dsn {
        hosts = List.copyOf(hosts);
        if (hosts.isEmpty()) {
            throw new IllegalArgumentException("hosts is empty");
        }
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(user, "user");
        params = Map.copyOf(params);
    }

    /**
     * Parses any of the accepted forms.
     *
     * @throws ConfigException with path {@code dsn}, naming the problem and never the password
     */
    public static Dsn parse(String text) {
        Objects.requireNonNull(text, "text");
        String s = text.trim();
        if (s.isEmpty()) {
            throw problem("is empty; " + FORMS);
        }
        Parts parts = new Parts();
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.startsWith("postgres://") || lower.startsWith("postgresql://")) {
            parseUrl(s.substring(s.indexOf("://") + 3), parts, true);
        } else if (lower.startsWith("jdbc:postgresql://")) {
            parseUrl(s.substring("jdbc:postgresql://".length()), parts, false);
        } else if (lower.startsWith("jdbc:postgresql:")) {
            throw problem("only the jdbc:postgresql://host:port/database form is supported; " + FORMS);
        } else if (s.contains("=")) {
            parseKeywordValue(s, parts);
        } else if (s.contains("://")) {
            String scheme = s.substring(0, s.indexOf("://"));
            throw problem("unknown scheme '" + safe(scheme) + "'; " + FORMS);
        } else {
            throw problem("is not a connection string; " + FORMS);
        }
        return parts.build();
    }

    /** The first (or only) host. */
    public String host() {
        return hosts.get(0).host();
    }

    /** The first (or only) host's port. */
    public int port() {
        return hosts.get(0).port();
    }

    /** Whether several hosts are named: the source then follows whichever of them is the primary. */
    public boolean multiHost() {
        return hosts.size() > 1;
    }

    /** The hosts as {@code host:port,host:port}, for messages. */
    public String endpoints() {
        return String.join(",", hosts.stream().map(Endpoint::toString).toList());
    }

    /**
     * The pgjdbc URL without credentials or parameters: {@code jdbc:postgresql://host:port[,host:port]/database}.
     */
    public String jdbcUrl() {
        return "jdbc:postgresql://" + endpoints() + "/" + URLEncoder.encode(database, StandardCharsets.UTF_8);
    }

    /** The same user, password and parameters for one of the hosts, with no role required of it. */
    public Dsn only(Endpoint endpoint) {
        Map<String, String> p = new LinkedHashMap<>(params);
        p.remove(TARGET_SERVER_TYPE);
        return new Dsn(List.of(endpoint), database, user, password, p);
    }

    /** pgjdbc connection properties: user, password (when given) and every extra parameter, TLS per libpq. */
    public Properties properties() {
        Properties p = new Properties();
        params.forEach(p::setProperty);
        String mode = p.getProperty("sslmode");
        String root = p.getProperty("sslrootcert");
        if ("system".equals(root)) {
            p.remove("sslrootcert");
            p.setProperty("sslfactory", "org.postgresql.ssl.DefaultJavaSSLFactory");
            p.setProperty("sslmode", "verify-full");
        } else if ("require".equals(mode) && root != null && !root.isBlank()) {
            p.setProperty("sslmode", "verify-ca");
        }
        if (multiHost()) {
            p.putIfAbsent("hostRecheckSeconds", HOST_RECHECK_SECONDS);
        }
        p.setProperty("user", user);
        if (password != null) {
            p.setProperty("password", password);
        }
        return p;
    }

    /** Where it points, for messages: {@code user@host:port[,host:port]/database}; no password. */
    public String describe() {
        return user + "@" + endpoints() + "/" + database;
    }

    @Override
    public String toString() {
        Map<String, String> shown = new LinkedHashMap<>(params);
        // sslpassword (the client key's passphrase) is as secret as the password.
        shown.replaceAll((k, v) -> k.toLowerCase(Locale.ROOT).contains("password") ? "***" : v);
        return "Dsn[" + describe() + (password == null ? "" : ", password=***") + ", params=" + shown + "]";
    }

    // ---- URL forms ------------------------------------------------------------------------------------

    private static void parseUrl(String rest, Parts parts, boolean libpqNames) {
        // libpq's rule: the user info ends at the first '@' that comes before any '/' or '?'.
        int delim = indexOfAny(rest, "@/?", 0);
        String hostPart;
        String afterHost;
        if (delim >= 0 && rest.charAt(delim) == '@') {
            String userInfo = rest.substring(0, delim);
            int colon = userInfo.indexOf(':');
            if (colon >= 0) {
                parts.user = decode(userInfo.substring(0, colon), "user");
                parts.password = decode(userInfo.substring(colon + 1), "password");
            } else {
                parts.user = decode(userInfo, "user");
            }
            String remainder = rest.substring(delim + 1);
            int end = indexOfAny(remainder, "/?", 0);
            hostPart = end < 0 ? remainder : remainder.substring(0, end);
            afterHost = end < 0 ? "" : remainder.substring(end);
            if (hostPart.contains("@")) {
                throw unencoded();
            }
        } else {
            int end = indexOfAny(rest, "/?", 0);
            hostPart = end < 0 ? rest : rest.substring(0, end);
            afterHost = end < 0 ? "" : rest.substring(end);
        }
        // An '@' left in the path means the user or password held an unencoded '/' or '?': the text we
        // would otherwise show as host or port may be part of the password, so say nothing about it.
        int query = afterHost.indexOf('?');
        String path = query < 0 ? afterHost : afterHost.substring(0, query);
        if (path.contains("@") || (parts.user == null && hostPart.contains(":") && afterHost.contains("@"))) {
            throw unencoded();
        }
        parseHostPort(hostPart, parts);
        if (path.length() > 1) {
            parts.database = decode(path.substring(1), "database");
        }
        if (query >= 0) {
            for (String pair : afterHost.substring(query + 1).split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String key = decode(eq < 0 ? pair : pair.substring(0, eq), "parameter name");
                String value = eq < 0 ? "" : decode(pair.substring(eq + 1), "value of parameter " + keyword(key));
                parts.put(key, value, libpqNames);
            }
        }
    }

    private static void parseHostPort(String hostList, Parts parts) {
        if (!hostList.contains(",")) {
            parseOneHostPort(hostList, parts);
            return;
        }
        List<String> hosts = new ArrayList<>();
        List<String> ports = new ArrayList<>();
        for (String one : hostList.split(",", -1)) {
            Parts single = new Parts();
            single.user = parts.user;
            parseOneHostPort(one, single);
            if (single.host == null) {
                throw problem("an empty host in the host list; expected postgres://user:password@host1:5432,"
                        + "host2:5432/database");
            }
            hosts.add(single.host);
            ports.add(single.port == null ? "" : single.port);
        }
        parts.host = String.join(",", hosts);
        parts.port = String.join(",", ports);
    }

    private static void parseOneHostPort(String hostPart, Parts parts) {
        String host;
        String port = null;
        if (hostPart.startsWith("[")) {
            int close = hostPart.indexOf(']');
            if (close < 0) {
                throw problem("IPv6 host is missing its closing ']'; expected postgres://user:password@[::1]:5432/db");
            }
            host = hostPart.substring(1, close);
            String tail = hostPart.substring(close + 1);
            if (tail.startsWith(":")) {
                port = tail.substring(1);
            } else if (!tail.isEmpty()) {
                throw problem("unexpected text after the IPv6 host; expected [address]:port");
            }
        } else {
            int colon = hostPart.lastIndexOf(':');
            host = colon < 0 ? hostPart : hostPart.substring(0, colon);
            port = colon < 0 ? null : hostPart.substring(colon + 1);
        }
        if (parts.user == null && port != null && !port.isEmpty() && !port.chars().allMatch(Character::isDigit)) {
            // Without an '@', "user:password" reads as host:port: the "port" may be a password, so never echo it.
            throw problem("the text after ':' is not a port number; if it is user:password, add '@' and the host, "
                    + "as in " + URL_EXAMPLE);
        }
        if (!host.isEmpty()) {
            parts.host = decode(host, "host");
        }
        if (port != null && !port.isEmpty()) {
            parts.port = port;
        }
    }

    // ---- keyword/value form ---------------------------------------------------------------------------

    private static void parseKeywordValue(String s, Parts parts) {
        int i = 0;
        int n = s.length();
        while (true) {
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n) {
                break;
            }
            int keyStart = i;
            while (i < n && s.charAt(i) != '=' && !Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            String key = s.substring(keyStart, i);
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n || s.charAt(i) != '=') {
                throw problem("missing '=' after " + keyword(key) + "; expected key=value pairs such as "
                        + "host=localhost port=5432, with values containing spaces quoted: password='a b'");
            }
            i++;
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            StringBuilder value = new StringBuilder();
            if (i < n && s.charAt(i) == '\'') {
                i++;
                boolean closed = false;
                while (i < n) {
                    char c = s.charAt(i++);
                    if (c == '\\' && i < n) {
                        value.append(s.charAt(i++));
                    } else if (c == '\'') {
                        closed = true;
                        break;
                    } else {
                        value.append(c);
                    }
                }
                if (!closed) {
                    throw problem("unterminated quoted value of " + keyword(key) + "; close it with '");
                }
            } else {
                while (i < n && !Character.isWhitespace(s.charAt(i))) {
                    char c = s.charAt(i++);
                    if (c == '\\' && i < n) {
                        c = s.charAt(i++);
                    }
                    value.append(c);
                }
            }
            if (key.isEmpty()) {
                throw problem("a value without a key; expected key=value pairs such as host=localhost");
            }
            parts.put(key, value.toString(), true);
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------

    private static final class Parts {
        @Nullable String host;
        @Nullable String port;
        @Nullable String database;
        @Nullable String user;
        @Nullable String password;
        final Map<String, String> params = new LinkedHashMap<>();

        void put(String key, String value, boolean libpqNames) {
            switch (key) {
                case "host", "hostaddr" -> host = value;
                case "port" -> port = value;
                case "dbname" -> database = value;
                case "user" -> user = value;
                case "password" -> password = value;
                default -> {
                    if (!libpqNames) {
                        params.put(key, value);
                    } else {
                        switch (key) {
                            case "target_session_attrs" -> params.put(TARGET_SERVER_TYPE, targetServerType(value));
                            case "connect_timeout" -> params.put("connectTimeout", value);
                            case "application_name" -> params.put("ApplicationName", value);
                            default -> params.put(key, value);
                        }
                    }
                }
            }
        }

        Dsn build() {
            if (host == null || host.isBlank()) {
                throw problem("host is missing; " + FORMS);
            }
            String[] hostNames = host.split(",", -1);
            String[] portTexts = port == null ? new String[] {""} : port.split(",", -1);
            if (portTexts.length != 1 && portTexts.length != hostNames.length) {
                throw problem(hostNames.length + " hosts but " + portTexts.length + " ports; give one port for all "
                        + "hosts or one per host, in the same order (host=a,b port=5432,5433)");
            }
            List<Endpoint> endpoints = new ArrayList<>();
            for (int i = 0; i < hostNames.length; i++) {
                String name = hostNames[i].trim();
                if (name.isEmpty()) {
                    throw problem("an empty host in the host list; expected host=a,b (names separated by commas)");
                }
                endpoints.add(new Endpoint(name, port(portTexts[portTexts.length == 1 ? 0 : i])));
            }
            if (user == null || user.isBlank()) {
                throw problem("user is missing; " + FORMS);
            }
            String mode = params.get("sslmode");
            if (mode != null && !SSL_MODES.contains(mode)) {
                throw problem("sslmode '" + safe(mode) + "' is not valid; expected one of disable, allow, prefer, "
                        + "require, verify-ca, verify-full");
            }
            if ("system".equals(params.get("sslrootcert")) && mode != null && !mode.equals("verify-full")) {
                throw problem("sslrootcert=system needs sslmode=verify-full (or no sslmode), as in libpq; got "
                        + "sslmode=" + mode);
            }
            if (endpoints.size() > 1) {
                String target = params.putIfAbsent(TARGET_SERVER_TYPE, "primary");
                if (target != null && !target.equals("primary") && !target.equals("master")
                        && !target.equals("any")) {
                    throw problem("with several hosts the source follows the primary, where its slot is written; "
                            + "use target_session_attrs=read-write (or primary), not the standby value given");
                }
            }
            String db = database == null || database.isBlank() ? user : database;
            return new Dsn(endpoints, db, user, password, params);
        }

        /** One port number; empty means the default. */
        private int port(String text) {
            if (text.isBlank()) {
                return DEFAULT_PORT;
            }
            int p;
            try {
                p = Integer.parseInt(text.trim());
            } catch (NumberFormatException e) {
                String shown = password != null && !password.isEmpty()
                        && (text.contains(password) || password.contains(text.trim())) ? "(hidden)" : safe(text);
                throw problem("port '" + shown + "' is not a number; expected 1 to 65535, e.g. " + URL_EXAMPLE);
            }
            if (p < 1 || p > 65535) {
                throw problem("port " + p + " is out of range; expected 1 to 65535");
            }
            return p;
        }
    }

    /** libpq's target_session_attrs as pgjdbc's targetServerType. */
    private static String targetServerType(String attrs) {
        return switch (attrs) {
            case "any" -> "any";
            case "read-write", "primary" -> "primary";
            case "read-only", "standby" -> "secondary";
            case "prefer-standby" -> "preferSecondary";
            default -> throw problem("target_session_attrs '" + safe(attrs) + "' is not valid; expected one of any, "
                    + "read-write, primary, read-only, standby, prefer-standby");
        };
    }

    private static int indexOfAny(String s, String chars, int from) {
        for (int i = from; i < s.length(); i++) {
            if (chars.indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }

    /** Percent-decoding as in URIs: '+' stays '+'. */
    private static String decode(String s, String what) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) {
                    throw problem("invalid percent-encoding in the " + what + "; expected %XX with two hex digits");
                }
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw problem("invalid percent-encoding in the " + what + "; expected %XX with two hex digits");
                }
                out.write(hi << 4 | lo);
                i += 2;
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                if (Character.isHighSurrogate(c) && i + 1 < s.length()) {
                    b = s.substring(i, i + 2).getBytes(StandardCharsets.UTF_8);
                    i++;
                }
                out.writeBytes(b);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static final java.util.Set<String> SSL_MODES = java.util.Set.of("disable", "allow", "prefer",
            "require", "verify-ca", "verify-full");

    private static final java.util.Set<String> KEYWORDS = java.util.Set.of("host", "hostaddr", "port", "dbname",
            "user", "password", "sslmode", "sslcert", "sslkey", "sslrootcert", "sslpassword", "connect_timeout",
            "application_name", "options", "target_session_attrs", "passfile", "channel_binding");

    /** Names a keyword only when it is a known one: an unknown "keyword" may be half of a password. */
    private static String keyword(String key) {
        return KEYWORDS.contains(key) ? "'" + key + "'" : "a keyword";
    }

    /** Echoes short, plain values only: anything else might be a piece of a mis-parsed password. */
    private static String safe(String value) {
        if (value.length() <= 32 && value.matches("[A-Za-z0-9_.\\-]*")) {
            return value;
        }
        return value.length() <= 32 ? value.replaceAll("[^A-Za-z0-9_.\\-]", "?") : value.substring(0, 8) + "...";
    }

    private static RuntimeException unencoded() {
        return problem("cannot tell the user and password from the host; percent-encode '@', '/', '?' and ':' "
                + "in the user and password (e.g. '@' as %40), as in " + URL_EXAMPLE);
    }

    private static ConfigException problem(String message) {
        return new ConfigException("dsn", message);
    }
}
