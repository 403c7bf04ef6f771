package io.deltaforge.nats;

import io.deltaforge.api.ConfigException;
import io.deltaforge.api.TableId;
import io.deltaforge.nats.internal.KvKeys;
import io.deltaforge.nats.internal.KvSettings;
import io.deltaforge.nats.internal.KvWriter;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Sink;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * Mirrors tables into a JetStream KV bucket, type {@code nats_kv}: each row's latest state under a key made
 * from its table and primary key ({@code <schema>.<table>.<key>} by default), the value being the envelope's
 * message for the row's last change. A deleted row's key is deleted (or purged), a truncate purges every key of
 * the table, and updates of a key are stored in order. A batch is confirmed only once the bucket acknowledged
 * every write, so the slot never moves past an unwritten change, and a replay after a crash leaves the bucket
 * equal to the table. With an initial snapshot the bucket becomes a live replica of the tables.
 *
 * <pre>{@code
 * Sink kv = NatsKvSink.builder().id("users-kv").url("nats://localhost:4222").bucket("users")
 *         .createBucket(true).build();
 * }</pre>
 *
 * <p>Thread safety: as the {@link Sink} contract requires (one send at a time).
 */
public final class NatsKvSink implements Sink {
    private final KvSettings settings;
    private final KvWriter writer;
    private volatile boolean closed;

    private NatsKvSink(KvSettings settings) {
        this.settings = settings;
        this.writer = new KvWriter(settings);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String id() {
        return settings.id();
    }

    @Override
    public void start() {
        writer.start();
    }

    @Override
    public List<String> check() {
        return writer.check();
    }

    /** Writes the batch before returning (the stage is complete); a failure goes into the stage. */
    @Override
    public CompletionStage<Void> send(Batch batch) {
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("sink " + id() + " is closed"));
        }
        try {
            writer.write(batch);
            return CompletableFuture.completedFuture(null);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public void close() {
        closed = true;
        writer.close();
    }

    /** Settings of a {@link NatsKvSink}; mutable, used once. Setters reject null. */
    public static final class Builder {
        private final NatsSink.Builder connection = NatsSink.builder().id("nats_kv");
        private @Nullable String bucket;
        private String keyTemplate = KvKeys.DEFAULT_TEMPLATE;
        private boolean purgeOnDelete;
        private boolean createBucket;
        private int history = 1;
        private final Map<TableId, List<String>> keyColumns = new LinkedHashMap<>();

        private Builder() {
        }

        /** A short name for logs and errors; default {@code nats_kv}. */
        public Builder id(String id) {
            connection.id(id);
            return this;
        }

        /** {@code nats://host:port}, several separated by commas. Required. */
        public Builder url(String url) {
            connection.url(url);
            return this;
        }

        /** The KV bucket. Required. */
        public Builder bucket(String bucket) {
            this.bucket = Objects.requireNonNull(bucket, "bucket");
            return this;
        }

        /** {@code {schema}}, {@code {table}} and, as the last token, {@code {key}}; default {@code {schema}.{table}.{key}}. */
        public Builder keyTemplate(String keyTemplate) {
            this.keyTemplate = Objects.requireNonNull(keyTemplate, "keyTemplate");
            return this;
        }

        /** The key columns of a table the source reports none for (no primary key), in key order. */
        public Builder keyColumns(TableId table, List<String> columns) {
            keyColumns.put(Objects.requireNonNull(table, "table"), List.copyOf(columns));
            return this;
        }

        /** Purge (drop the key's history) instead of delete (a delete marker) for deleted rows; default false. */
        public Builder purgeOnDelete(boolean purgeOnDelete) {
            this.purgeOnDelete = purgeOnDelete;
            return this;
        }

        /** Create the bucket at start when it is missing (file storage); default false. */
        public Builder createBucket(boolean createBucket) {
            this.createBucket = createBucket;
            return this;
        }

        /** Values kept per key in a bucket this sink creates, 1 to 64; default 1. */
        public Builder history(int history) {
            this.history = history;
            return this;
        }

        /** How long one write may wait for its acknowledgement; default 5 s. */
        public Builder sendTimeout(Duration sendTimeout) {
            connection.sendTimeout(sendTimeout);
            return this;
        }

        /** How long a whole batch may take; default 30 s. */
        public Builder batchTimeout(Duration batchTimeout) {
            connection.batchTimeout(batchTimeout);
            return this;
        }

        /** As {@link NatsSink.Builder#credentialsFile}. */
        public Builder credentialsFile(Path credentialsFile) {
            connection.credentialsFile(credentialsFile);
            return this;
        }

        /** As {@link NatsSink.Builder#nkeySeedFile}. */
        public Builder nkeySeedFile(Path nkeySeedFile) {
            connection.nkeySeedFile(nkeySeedFile);
            return this;
        }

        /** As {@link NatsSink.Builder#username}; with {@link #password}. */
        public Builder username(String username) {
            connection.username(username);
            return this;
        }

        /** As {@link NatsSink.Builder#password}. */
        public Builder password(String password) {
            connection.password(password);
            return this;
        }

        /** As {@link NatsSink.Builder#token}. */
        public Builder token(String token) {
            connection.token(token);
            return this;
        }

        /** As {@link NatsSink.Builder#tls(boolean)}. */
        public Builder tls(boolean tls) {
            connection.tls(tls);
            return this;
        }

        /** As {@link NatsSink.Builder#tlsCaFile}. */
        public Builder tlsCaFile(Path caFile) {
            connection.tlsCaFile(caFile);
            return this;
        }

        /** As {@link NatsSink.Builder#tlsClientCertificate}. */
        public Builder tlsClientCertificate(Path certFile, Path keyFile) {
            connection.tlsClientCertificate(certFile, keyFile);
            return this;
        }

        /** The connection keys, for the provider's shared parsing. */
        NatsSink.Builder connection() {
            return connection;
        }

        /**
         * Checks the settings and makes the sink (not yet connected).
         *
         * @throws ConfigException listing every problem, each under {@code sink.nats_kv.<key>}
         */
        public NatsKvSink build() {
            return build("sink.nats_kv");
        }

        NatsKvSink build(String path) {
            String prefix = path.isEmpty() ? "" : path + ".";
            List<ConfigException.Problem> problems = new ArrayList<>();
            if (bucket == null || !bucket.matches("[-_a-zA-Z0-9]+")) {
                problems.add(new ConfigException.Problem(prefix + "bucket", bucket == null
                        ? "is required; e.g. users" : "'" + bucket + "' is not a valid bucket name; use letters,"
                        + " digits, - and _"));
            }
            String why = KvKeys.problemWithTemplate(keyTemplate);
            if (!why.isEmpty()) {
                problems.add(new ConfigException.Problem(prefix + "key", why));
            }
            if (history < 1 || history > 64) {
                problems.add(new ConfigException.Problem(prefix + "history", history + " is out of range; expected 1 to 64"));
            }
            connection.subject("kv.unused").stream("KV_" + (bucket == null ? "unset" : bucket));
            problems.addAll(connection.problems(path));
            if (!problems.isEmpty()) {
                throw new ConfigException(problems);
            }
            return new NatsKvSink(new KvSettings(connection.settings(path), Objects.requireNonNull(bucket),
                    KvKeys.of(keyTemplate, keyColumns), purgeOnDelete, createBucket, history));
        }
    }
}
