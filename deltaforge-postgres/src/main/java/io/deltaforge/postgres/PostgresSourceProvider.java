package io.deltaforge.postgres;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.ConfigException.Problem;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.Source;
import io.deltaforge.spi.SourceProvider;
import java.time.Duration;

/**
 * The {@code postgres} source type for configuration files. Keys:
 *
 * <pre>{@code
 * source:
 *   type: postgres
 *   config:
 *     id: users-postgres            # default "postgres"; part of every event id, keep it stable
 *     dsn: ${POSTGRES_DSN}          # required
 *     slot: deltaforge_users        # required
 *     publication: users_pub        # required, must exist
 *     tables: [public.users]        # optional; default every table of the publication
 *     start_position: earliest      # earliest | latest (see StartPosition)
 *     create_slot: true             # default true
 *     status_interval_secs: 10      # default 10
 * }</pre>
 *
 * <p>Found through {@link java.util.ServiceLoader}; the constructor does nothing.
 */
public final class PostgresSourceProvider implements SourceProvider {
    public PostgresSourceProvider() {
    }

    @Override
    public String type() {
        return "postgres";
    }

    @Override
    public Source create(ProviderConfig config) {
        PostgresSource.Builder builder = PostgresSource.builder();
        builder.id(config.string("id", "postgres"));
        // Required-ness of dsn, slot and publication is checked by the builder, once.
        String dsn = config.string("dsn");
        if (dsn != null) {
            builder.dsn(dsn);
        }
        String slot = config.string("slot");
        if (slot != null) {
            builder.slot(slot);
        }
        String publication = config.string("publication");
        if (publication != null) {
            builder.publication(publication);
        }
        builder.tables(config.stringList("tables"));
        String start = config.string("start_position");
        if (start != null) {
            try {
                builder.startPosition(StartPosition.parse(start));
            } catch (IllegalArgumentException e) {
                config.problem("start_position", e.getMessage());
            }
        }
        builder.createSlot(config.bool("create_slot", true));
        builder.statusInterval(config.seconds("status_interval_secs", Duration.ofSeconds(10), 1, 3600));
        PostgresSource source = null;
        try {
            source = builder.build();
        } catch (ConfigException e) {
            for (Problem p : e.problems()) {
                config.problem(p.path(), p.message());
            }
        }
        config.throwIfInvalid();
        return source;
    }
}
