package io.deltaforge.nats.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The validated settings of one NATS sink; built by {@code NatsSink.Builder}, which checks every field.
 * {@link #toString()} leaves secrets out.
 *
 * @param servers         server URLs, each with a scheme, never empty
 * @param credentialsFile a {@code .creds} file, null when not used
 * @param username        null when not used; set together with {@code password}
 * @param password        null when not used; a secret
 * @param token           null when not used; a secret
 * @param headers         static headers added to every message, in order
 */
public record NatsSinkSettings(String id, List<String> servers, String subject, String stream,
                               Duration sendTimeout, Duration batchTimeout, int maxInFlight,
                               @Nullable Path credentialsFile, @Nullable String username,
                               @Nullable String password, @Nullable String token, Map<String, String> headers) {
    public NatsSinkSettings {
        servers = List.copyOf(servers);
        headers = Map.copyOf(headers);
    }

    /** The servers as safe to log: any user:password part of a URL is replaced by {@code ***}. */
    public List<String> redactedServers() {
        return servers.stream().map(NatsSinkSettings::redact).toList();
    }

    /** Removes the user-info part of a URL, which may hold a password or token. */
    public static String redact(@Nullable String url) {
        if (url == null) {
            return "(none)";
        }
        int scheme = url.indexOf("://");
        int at = url.lastIndexOf('@');
        if (at < 0) {
            return url;
        }
        int start = scheme < 0 ? 0 : scheme + 3;
        return at > start ? url.substring(0, start) + "***" + url.substring(at) : url;
    }

    @Override
    public String toString() {
        return "NatsSinkSettings[id=" + id + ", servers=" + redactedServers() + ", subject=" + subject
                + ", stream=" + stream + ", sendTimeout=" + sendTimeout + ", batchTimeout=" + batchTimeout
                + ", maxInFlight=" + maxInFlight + ", auth=" + authKind() + ", headers=" + headers.keySet() + "]";
    }

    /** Which kind of authentication is configured, for logs. */
    public String authKind() {
        if (credentialsFile != null) {
            return "credentials file";
        }
        if (username != null) {
            return "user/password";
        }
        if (token != null) {
            return "token";
        }
        return "none (or in the URL)";
    }
}
