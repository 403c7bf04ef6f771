package io.deltaforge.nats;

import io.deltaforge.api.TableId;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.Sink;
import io.deltaforge.spi.SinkProvider;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Makes a {@link NatsKvSink} from a {@code type: nats_kv} sink section; every key is described in
 * {@code docs/nats-kv-sink.md}.
 *
 * <pre>{@code
 * sinks:
 *   - type: nats_kv
 *     config:
 *       id: users-kv
 *       url: nats://127.0.0.1:4222
 *       bucket: users
 *       key: "{schema}.{table}.{key}"   # optional, the default
 *       delete: delete                  # or purge
 *       create_bucket: true             # optional, default false
 *       history: 1                      # optional, for a created bucket
 *       key_columns: {public.events: [tenant, id]}   # optional, for tables without a primary key
 * }</pre>
 */
public final class NatsKvSinkProvider implements SinkProvider {
    public NatsKvSinkProvider() {
    }

    @Override
    public String type() {
        return "nats_kv";
    }

    @Override
    public Sink create(ProviderConfig config) {
        NatsKvSink.Builder b = NatsKvSink.builder();
        b.id(config.string("id", "nats_kv"));
        String url = NatsSinkProvider.url(config);
        if (url != null) {
            b.url(url);
        }
        String bucket = config.string("bucket");
        if (bucket != null) {
            b.bucket(bucket);
        }
        b.keyTemplate(config.string("key", "{schema}.{table}.{key}"));
        String delete = config.string("delete", "delete").trim().toLowerCase(Locale.ROOT);
        if (!delete.equals("delete") && !delete.equals("purge")) {
            config.problem("delete", "'" + delete + "' is neither delete nor purge");
        }
        b.purgeOnDelete(delete.equals("purge"));
        b.createBucket(config.bool("create_bucket", false));
        b.history(config.integer("history", 1, 1, 64));
        b.sendTimeout(config.seconds("send_timeout_secs", Duration.ofSeconds(5), 1, 3600));
        b.batchTimeout(config.seconds("batch_timeout_secs", Duration.ofSeconds(30), 1, 86_400));
        if (config.raw("key_columns") instanceof Map<?, ?> tables) {
            ProviderConfig section = config.section("key_columns");
            for (Object table : tables.keySet()) {
                String name = String.valueOf(table);
                List<String> columns = section == null ? List.of() : section.stringList(name);
                if (columns.isEmpty()) {
                    config.problem("key_columns." + name, "expected a list of columns, e.g. [id]");
                } else {
                    b.keyColumns(TableId.parse(name), columns);
                }
            }
        } else if (config.raw("key_columns") != null) {
            config.problem("key_columns", "expected a mapping of schema.table to columns, e.g. {public.events: [id]}");
        }
        NatsSinkProvider.readAuthAndTls(config, b.connection());
        config.throwIfInvalid();
        return b.build(config.path());
    }
}
