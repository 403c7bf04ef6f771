package io.deltaforge.nats;

import io.deltaforge.api.ConfigException.Problem;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.Sink;
import io.deltaforge.spi.SinkProvider;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Makes a {@link NatsSink} from a {@code type: nats} sink section.
 *
 * <pre>{@code
 * sinks:
 *   - type: nats
 *     config:
 *       id: users-nats
 *       url: nats://127.0.0.1:4222     # or several, comma separated
 *       subject: users.events
 *       stream: USERS
 *       send_timeout_secs: 5          # optional, default 5
 *       batch_timeout_secs: 30        # optional, default 30
 *       max_in_flight: 4096           # optional
 *       credentials_file: /etc/nats/app.creds   # or username + password, or token
 *       headers: { x-team: identity } # optional static headers
 * }</pre>
 *
 * <p>The pipeline-level keys of a sink section ({@code envelope}, {@code encoding}, {@code required}) are
 * handled by the loader and never reach this provider.
 */
public final class NatsSinkProvider implements SinkProvider {
    public NatsSinkProvider() {
    }

    @Override
    public String type() {
        return "nats";
    }

    @Override
    public Sink create(ProviderConfig config) {
        NatsSink.Builder b = NatsSink.builder();
        b.id(config.string("id", "nats"));
        String url = config.string("url");
        if (url != null) {
            b.url(url);
        }
        String subject = config.string("subject");
        if (subject != null) {
            b.subject(subject);
        }
        String stream = config.string("stream");
        if (stream != null) {
            b.stream(stream);
        }
        b.sendTimeout(config.seconds("send_timeout_secs", Duration.ofSeconds(5), 1, 3600));
        b.batchTimeout(config.seconds("batch_timeout_secs", Duration.ofSeconds(30), 1, 86_400));
        b.maxInFlight(config.integer("max_in_flight", 4096, 1, 1_000_000));
        String creds = config.string("credentials_file");
        if (creds != null) {
            try {
                b.credentialsFile(Path.of(creds));
            } catch (InvalidPathException e) {
                config.problem("credentials_file", "'" + creds + "' is not a valid path");
            }
        }
        String username = config.string("username");
        if (username != null) {
            b.username(username);
        }
        String password = config.string("password");
        if (password != null) {
            b.password(password);
        }
        String token = config.string("token");
        if (token != null) {
            b.token(token);
        }
        b.headers(headers(config));
        for (Problem p : b.problems("")) {
            config.problem(p.path(), p.message());
        }
        config.throwIfInvalid();
        return b.build(config.path());
    }

    private static Map<String, String> headers(ProviderConfig config) {
        Object raw = config.raw("headers");
        Map<String, String> headers = new LinkedHashMap<>();
        if (raw == null) {
            return headers;
        }
        if (!(raw instanceof Map<?, ?> map)) {
            config.problem("headers", "expected a mapping of header names to values, e.g. {x-team: identity}");
            return headers;
        }
        map.forEach((k, v) -> {
            if (v == null || v instanceof Map || v instanceof java.util.List) {
                config.problem("headers." + k, "expected a single text value");
            } else {
                headers.put(String.valueOf(k), String.valueOf(v));
            }
        });
        return headers;
    }
}
