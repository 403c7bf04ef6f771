package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.RetryableException;
import io.deltaforge.api.Row;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.Message;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.KeyValueManagement;
import io.nats.client.api.KeyValueConfiguration;
import io.nats.client.api.KeyValueStatus;
import io.nats.client.api.PersistMode;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StorageType;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes batches into a KV bucket: a put per inserted, updated or snapshot row, a delete (or purge) per deleted
 * row, a purge of every key of the table per truncate. The writes of a batch are pipelined on one connection,
 * so they are stored in order, and the batch counts as written when every write is acknowledged. Each write
 * carries its event's id as {@code Nats-Msg-Id}, so replays within the bucket's duplicate window add no
 * revisions. A failed connection is dropped and the next batch opens a fresh one, so nothing queued on the old
 * one overtakes the engine's in-order resend.
 */
public final class KvWriter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KvWriter.class);
    private static final byte[] EMPTY = new byte[0];

    private final KvSettings settings;
    private final NatsConnector connector;
    private @Nullable Connection connection;

    public KvWriter(KvSettings settings) {
        this.settings = settings;
        this.connector = new NatsConnector(settings.connection(), "sink " + settings.id());
    }

    /** Connects and checks (or creates) the bucket. */
    public void start() {
        List<String> notes = checkBucket(connection(), true);
        notes.forEach(note -> LOG.info("sink {}: {}", settings.id(), note));
    }

    /** As {@link #start()} without creating anything, on a connection of its own. */
    public List<String> check() {
        Connection nc = connector.connect();
        try {
            return checkBucket(nc, false);
        } finally {
            connector.closeQuietly(nc);
        }
    }

    /** At start a missing bucket may be created and a bucket's durability is warned about; else both are notes. */
    private List<String> checkBucket(Connection nc, boolean starting) {
        try {
            KeyValueManagement kvm = nc.keyValueManagement();
            try {
                String durability = durabilityProblem(kvm.getStatus(settings.bucket()));
                if (durability != null && starting) {
                    LOG.warn("sink {}: {}", settings.id(), durability);
                }
                return durability == null || starting ? List.of() : List.of(durability);
            } catch (JetStreamApiException e) {
                if (e.getErrorCode() != 404) {
                    throw e;
                }
            }
            if (!starting || !settings.createBucket()) {
                if (settings.createBucket()) {
                    return List.of("KV bucket '" + settings.bucket() + "' does not exist; the first start creates it");
                }
                throw new DeltaforgeException("sink " + settings.id() + ": KV bucket '" + settings.bucket()
                        + "' does not exist; create it (nats kv add " + settings.bucket()
                        + ") or set create_bucket: true");
            }
            kvm.create(KeyValueConfiguration.builder().name(settings.bucket()).maxHistoryPerKey(settings.history())
                    .storageType(StorageType.File).build());
            return List.of("created KV bucket '" + settings.bucket() + "' (history " + settings.history() + ")");
        } catch (IOException e) {
            throw new RetryableException("sink " + settings.id() + ": checking KV bucket '" + settings.bucket()
                    + "' failed: " + e.getMessage() + "; is JetStream enabled on the server?", e);
        } catch (JetStreamApiException e) {
            throw new DeltaforgeException("sink " + settings.id() + ": KV bucket '" + settings.bucket()
                    + "' is unusable: " + e.getMessage(), e);
        }
    }

    /** As the NATS sink's stream check: an acknowledgement before the write lets a hard kill of nats-server lose it. */
    private @Nullable String durabilityProblem(KeyValueStatus status) {
        if (status.getBackingStreamInfo().getConfiguration().getPersistMode() != PersistMode.Async) {
            return null;
        }
        return "KV bucket '" + settings.bucket() + "' uses persist_mode: async (its stream KV_" + settings.bucket()
                + "), so nats-server may acknowledge a write before it stores it, and a hard kill of nats-server can"
                + " then lose writes the replication slot was already acknowledged past; for no loss, use a bucket"
                + " whose stream has persist_mode: default (nats-server cannot change it on an existing stream)";
    }

    /** Writes the batch and waits for every acknowledgement; throws as the batch's stage should fail. */
    public void write(Batch batch) {
        Connection nc = connection();
        JetStream js;
        try {
            js = nc.jetStream();
        } catch (IOException e) {
            throw new RetryableException("sink " + settings.id() + ": no JetStream context: " + e.getMessage(), e);
        }
        List<Pending> pending = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            ChangeEvent event = batch.events().get(i);
            Message message = batch.messages().get(i);
            switch (event.op()) {
                case CREATE, UPDATE, READ -> {
                    Row after = requireRow(event, event.after());
                    String key = settings.keys().key(event, after);
                    if (event.op() == io.deltaforge.api.Op.UPDATE && settings.keys().hasKey(event, event.before())) {
                        String oldKey = settings.keys().key(event, event.before());
                        if (!oldKey.equals(key)) {   // the primary key changed: the old key's row is gone
                            pending.add(publish(js, event, oldKey, Operation.DELETE, message.id() + ".old"));
                        }
                    }
                    pending.add(publish(js, event, key, Operation.PUT, message.id(), message.payload()));
                }
                case DELETE -> pending.add(publish(js, event, settings.keys().key(event, requireRow(event, event.before())),
                        settings.purgeOnDelete() ? Operation.PURGE : Operation.DELETE, message.id()));
                case TRUNCATE -> {
                    awaitAll(pending);   // the keys to purge are those stored so far, this batch's included
                    pending.clear();
                    for (String key : keysOf(nc, event)) {
                        pending.add(publish(js, event, key, Operation.PURGE, message.id() + "." + key));
                    }
                }
                case MESSAGE -> {
                    // A logical message is no row: nothing to mirror.
                }
            }
        }
        awaitAll(pending);
    }

    private enum Operation { PUT, DELETE, PURGE }

    private record Pending(ChangeEvent event, String subject, int bytes, CompletableFuture<PublishAck> ack) {
    }

    private Pending publish(JetStream js, ChangeEvent event, String key, Operation op, String msgId) {
        return publish(js, event, key, op, msgId, EMPTY);
    }

    private Pending publish(JetStream js, ChangeEvent event, String key, Operation op, String msgId, byte[] value) {
        Headers headers = new Headers().put("Nats-Msg-Id", msgId).put("Nats-Expected-Stream", settings.streamName());
        if (op == Operation.DELETE) {
            headers.put("KV-Operation", "DEL");
        } else if (op == Operation.PURGE) {
            headers.put("KV-Operation", "PURGE").put("Nats-Rollup", "sub");
        }
        String subject = settings.subject(key);
        CompletableFuture<PublishAck> ack;
        try {
            ack = js.publishAsync(NatsMessage.builder().subject(subject).headers(headers).data(value).build());
        } catch (RuntimeException e) {
            ack = CompletableFuture.failedFuture(e);
        }
        return new Pending(event, subject, value.length, ack);
    }

    private List<String> keysOf(Connection nc, ChangeEvent event) {
        try {
            return nc.keyValue(settings.bucket()).keys(settings.keys().tableFilter(event.table()));
        } catch (IOException | JetStreamApiException | InterruptedException | RuntimeException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw fail(event, settings.subject(settings.keys().tableFilter(event.table())), 0, e);
        }
    }

    private void awaitAll(List<Pending> pending) {
        long deadline = System.nanoTime() + settings.connection().batchTimeout().toNanos();
        for (Pending p : pending) {
            try {
                p.ack().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
                throw fail(p.event(), p.subject(), p.bytes(), e.getCause());
            } catch (TimeoutException e) {
                throw fail(p.event(), p.subject(), p.bytes(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw fail(p.event(), p.subject(), p.bytes(), e);
            }
        }
    }

    private DeltaforgeException fail(ChangeEvent event, String subject, int bytes, Throwable error) {
        DeltaforgeException classified = Failures.classify(settings.id(), settings.streamName(), subject,
                settings.connection().sendTimeout(), "", event, bytes, error);
        if (classified instanceof RetryableException) {
            dropConnection();
        }
        return classified;
    }

    private static Row requireRow(ChangeEvent event, @Nullable Row row) {
        if (row == null) {
            throw new DeltaforgeException("event " + event.id() + " of " + event.table() + " (" + event.op()
                    + ") has no row image to key a nats_kv entry with");
        }
        return row;
    }

    private Connection connection() {
        Connection nc = connection;
        if (nc == null || nc.getStatus() != Connection.Status.CONNECTED) {
            dropConnection();
            nc = connector.connect();
            connection = nc;
        }
        return nc;
    }

    private void dropConnection() {
        Connection nc = connection;
        connection = null;
        if (nc != null) {
            connector.closeQuietly(nc);
        }
    }

    @Override
    public void close() {
        connector.closing();
        dropConnection();
    }
}
