package io.deltaforge.examples.benchdbz;

import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.Nats;
import io.nats.client.api.PublishAck;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The other side of {@code ./dev.sh bench --runner --debezium}: Debezium's embedded PostgreSQL connector
 * (pgoutput, JSON converter without schemas, every other setting at its default) publishing each change
 * with jnats {@code publishAsync} to JetStream, as a user would wire it (any other Debezium property as
 * {@code -Ddbz.NAME=VALUE}): a batch is handed back as
 * processed once every one of its PubAcks is in, so delivery is at least once, as DeltaForge's is.
 *
 * <p>Usage: {@code DebeziumToJetStream HOST PORT USER PASSWORD DATABASE SLOT PUBLICATION NATS_URL SUBJECT}.
 * The slot and the publication exist already; the stream capturing SUBJECT too. Prints {@code streaming}
 * once the connector's task runs. Runs until killed.
 */
public final class DebeziumToJetStream {
    private DebeziumToJetStream() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 9) {
            System.err.println("usage: DebeziumToJetStream HOST PORT USER PASSWORD DATABASE SLOT PUBLICATION NATS_URL SUBJECT");
            System.exit(2);
        }
        String subject = args[8];
        Properties p = new Properties();
        p.setProperty("name", "bench-" + args[5]);
        p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        p.setProperty("offset.storage", "org.apache.kafka.connect.storage.MemoryOffsetBackingStore");
        p.setProperty("topic.prefix", "bench");
        p.setProperty("database.hostname", args[0]);
        p.setProperty("database.port", args[1]);
        p.setProperty("database.user", args[2]);
        p.setProperty("database.password", args[3]);
        p.setProperty("database.dbname", args[4]);
        p.setProperty("plugin.name", "pgoutput");
        p.setProperty("slot.name", args[5]);
        p.setProperty("publication.name", args[6]);
        p.setProperty("publication.autocreate.mode", "disabled");
        // The backlog already in the slot is the workload: no snapshot of the tables.
        p.setProperty("snapshot.mode", "no_data");
        p.setProperty("converter.schemas.enable", "false");
        // -Ddbz.NAME=VALUE sets any other Debezium property, e.g. -Ddbz.poll.interval.ms=10.
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("dbz."))
                .forEach(k -> p.setProperty(k.substring(4), System.getProperty(k)));

        try (Connection nc = Nats.connect(args[7])) {
            JetStream js = nc.jetStream();
            CountDownLatch stopped = new CountDownLatch(1);
            DebeziumEngine<ChangeEvent<String, String>> engine = DebeziumEngine.create(Json.class)
                    .using(p)
                    .using(new DebeziumEngine.ConnectorCallback() {
                        @Override
                        public void taskStarted() {
                            System.out.println("streaming");
                            System.out.flush();
                        }
                    })
                    .using((success, message, error) -> {
                        if (!success) {
                            System.err.println("Debezium stopped: " + message + (error == null ? "" : " " + error));
                        }
                        stopped.countDown();
                    })
                    .notifying((List<ChangeEvent<String, String>> records,
                                DebeziumEngine.RecordCommitter<ChangeEvent<String, String>> committer) -> {
                        List<CompletableFuture<PublishAck>> acks = new ArrayList<>(records.size());
                        for (ChangeEvent<String, String> r : records) {
                            if (r.value() != null) {
                                acks.add(js.publishAsync(subject, r.value().getBytes(StandardCharsets.UTF_8)));
                            }
                        }
                        try {
                            CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
                        } catch (Exception e) {
                            throw new IllegalStateException("publishing a batch of " + records.size() + " failed", e);
                        }
                        for (ChangeEvent<String, String> r : records) {
                            committer.markProcessed(r);
                        }
                        committer.markBatchFinished();
                    })
                    .build();
            ExecutorService executor = Executors.newSingleThreadExecutor();
            executor.execute(engine);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    engine.close();
                } catch (Exception ignored) {
                    // The benchmark is done with us either way.
                }
            }));
            stopped.await();
            executor.shutdown();
        }
    }
}
