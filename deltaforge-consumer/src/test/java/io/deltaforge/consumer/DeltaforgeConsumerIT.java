package io.deltaforge.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.BatchConfig;
import io.deltaforge.api.Pipeline;
import io.deltaforge.envelopes.CloudEventsEnvelope;
import io.deltaforge.nats.NatsSink;
import io.deltaforge.postgres.PostgresSource;
import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.Headers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The consumer reading what a real pipeline (PostgreSQL → NATS, CloudEvents) published. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DeltaforgeConsumerIT {
    private static PostgresServer pg;
    private static NatsServer nats;
    private static Connection nc;
    private static Pipeline pipeline;

    @BeforeAll
    static void startPipeline() throws Exception {
        pg = PostgresServer.start();
        nats = NatsServer.start();
        nc = nats.connect();
        for (String table : List.of("restarted", "retried", "dead", "crashed", "txs")) {
            pg.execute("CREATE TABLE " + table + " (id int PRIMARY KEY, name text)");
        }
        pg.execute("CREATE PUBLICATION consumer_pub FOR ALL TABLES");
        nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("ACCT").subjects("acct.>")
                .storageType(StorageType.File).build());
        pipeline = Pipeline.builder().name("consumer-it")
                .source(PostgresSource.builder().id("pg").dsn(pg.dsn()).slot("consumer_slot")
                        .publication("consumer_pub").statusInterval(Duration.ofSeconds(1)).build())
                .sink(NatsSink.builder().id("nats").url(nats.url()).stream("ACCT").subject("acct.events.{table}")
                        .build())
                .envelope(CloudEventsEnvelope.withTypePrefix("com.acme"))
                .batch(new BatchConfig(100, 1 << 20, Duration.ofMillis(20), true))
                .build();
        pipeline.start();
    }

    @AfterAll
    static void stopAll() throws Exception {
        if (pipeline != null) {
            pipeline.close();
        }
        if (nc != null) {
            nc.close();
        }
        if (nats != null) {
            nats.close();
        }
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void handsEachChangeOnceInCommitOrderAndResumesAfterARestart() {
        pg.execute("INSERT INTO restarted VALUES (1, 'a'), (2, 'b')");
        pg.execute("UPDATE restarted SET name = 'b2' WHERE id = 2");
        pg.execute("DELETE FROM restarted WHERE id = 1");
        List<ChangeMessage> seen = new CopyOnWriteArrayList<>();
        try (DeltaforgeConsumer consumer = consumer("restarted", seen::add).build()) {
            consumer.start();
            awaitSize(seen, 4);
        }
        assertThat(seen).extracting(m -> m.op().code() + ":" + id(m)).containsExactly("c:1", "c:2", "u:2", "d:1");
        ChangeMessage update = seen.get(2);
        assertThat(update.after().get("name").asText()).isEqualTo("b2");
        assertThat(update.qualifiedTable()).isEqualTo("public.restarted");
        assertThat(update.key().asText()).isEqualTo("2");
        assertThat(update.transactionId()).isNotNull();
        assertThat(update.commitLsn()).isNotNull();
        assertThat(update.sequence()).isNotNull();
        assertThat(seen.get(0).transactionId()).isEqualTo(seen.get(1).transactionId());
        assertThat(seen.get(0).sequence()).isLessThan(seen.get(1).sequence());

        pg.execute("INSERT INTO restarted VALUES (3, 'c')");
        List<ChangeMessage> afterRestart = new CopyOnWriteArrayList<>();
        try (DeltaforgeConsumer consumer = consumer("restarted", afterRestart::add).build()) {
            consumer.start();
            awaitSize(afterRestart, 1);
            assertThat(afterRestart).extracting(DeltaforgeConsumerIT::id).containsExactly(3);
        }
    }

    @Test
    void retriesAFailedHandlerBeforeAnyLaterChange() {
        pg.execute("INSERT INTO retried VALUES (1, 'a')");
        pg.execute("INSERT INTO retried VALUES (2, 'b')");
        pg.execute("INSERT INTO retried VALUES (3, 'c')");
        List<String> calls = new CopyOnWriteArrayList<>();
        try (DeltaforgeConsumer consumer = consumer("retried", m -> {
            calls.add(id(m) + "@" + m.attempt());
            if (id(m) == 2 && m.attempt() == 1) {
                throw new IllegalStateException("database busy");
            }
        }).build()) {
            consumer.start();
            awaitSize(calls, 4);
        }
        assertThat(calls).containsExactly("1@1", "2@1", "2@2", "3@1");
    }

    @Test
    void movesAMessageThatKeepsFailingToTheDeadLetterSubjectAndGoesOn() throws Exception {
        pg.execute("INSERT INTO dead VALUES (1, 'a')");
        pg.execute("INSERT INTO dead VALUES (2, 'poison')");
        pg.execute("INSERT INTO dead VALUES (3, 'c')");
        List<String> handled = new CopyOnWriteArrayList<>();
        try (DeltaforgeConsumer consumer = consumer("dead", m -> {
            if (id(m) == 2) {
                throw new IllegalArgumentException("cannot bill 'poison'");
            }
            handled.add(String.valueOf(id(m)));
        }).maxDeliver(3).deadLetterSubject("acct.dead").build()) {
            consumer.start();
            awaitSize(handled, 2);
        }
        assertThat(handled).containsExactly("1", "3");
        JetStreamSubscription dead = nc.jetStream().subscribe("acct.dead",
                PullSubscribeOptions.builder().build());
        List<Message> letters = dead.fetch(10, Duration.ofSeconds(2));
        assertThat(letters).hasSize(1);
        Message letter = letters.get(0);
        assertThat(letter.getHeaders().getFirst("DeltaForge-Error")).contains("cannot bill 'poison'");
        assertThat(letter.getHeaders().getFirst("DeltaForge-Attempts")).isEqualTo("3");
        assertThat(letter.getHeaders().getFirst("DeltaForge-Original-Subject")).isEqualTo("acct.events.dead");
        assertThat(new String(letter.getData(), java.nio.charset.StandardCharsets.UTF_8)).contains("poison");
        dead.unsubscribe();
    }

    @Test
    void aCrashedConsumersUnacknowledgedMessageIsRedeliveredToTheNextOne() throws Exception {
        pg.execute("INSERT INTO crashed VALUES (1, 'a')");
        pg.execute("INSERT INTO crashed VALUES (2, 'b')");
        Connection doomed = nats.connect();
        List<String> first = new CopyOnWriteArrayList<>();
        DeltaforgeConsumer crashing = consumer("crashed", m -> {
            first.add(id(m) + "@" + m.attempt());
            if (id(m) == 2) {
                doomed.close();   // the process dies before it can acknowledge
            }
        }).connection(doomed).build();
        crashing.start();
        Awaitility.await("the consumer dies").atMost(Duration.ofSeconds(20))
                .until(() -> crashing.termination().isDone());
        assertThat(crashing.termination()).isCompletedExceptionally();

        List<String> second = new CopyOnWriteArrayList<>();
        try (DeltaforgeConsumer next = consumer("crashed", m -> second.add(id(m) + "@" + m.attempt())).build()) {
            next.start();
            awaitSize(second, 1);
        }
        assertThat(first).containsExactly("1@1", "2@1");
        assertThat(second).containsExactly("2@2");
    }

    @Test
    void handsWholeTransactionsInCommitOrderAndRetriesThemWhole() throws Exception {
        try (java.sql.Connection db = pg.connect()) {
            db.setAutoCommit(false);
            try (java.sql.Statement st = db.createStatement()) {
                st.executeUpdate("INSERT INTO txs VALUES (1, 'a'), (2, 'b'), (3, 'c')");
                db.commit();
                st.executeUpdate("UPDATE txs SET name = 'x' WHERE id = 1");
                st.executeUpdate("DELETE FROM txs WHERE id = 2");
                db.commit();
                st.executeUpdate("INSERT INTO txs VALUES (4, 'd')");
                db.commit();
            }
        }
        List<String> calls = new CopyOnWriteArrayList<>();
        List<String> transactionIds = new CopyOnWriteArrayList<>();
        try (DeltaforgeConsumer consumer = DeltaforgeConsumer.builder().url(nats.url()).stream("ACCT")
                .durable("it-txs").filterSubject("acct.events.txs").backoff(Duration.ofMillis(50), Duration.ofMillis(200))
                .transactionHandler(tx -> {
                    calls.add(tx.changes().stream().map(m -> m.op().code() + id(m)).toList() + "@" + tx.attempt());
                    transactionIds.add(tx.transactionId());
                    assertThat(tx.changes()).allMatch(m -> m.transactionId().equals(tx.transactionId()));
                    if (tx.changes().size() == 2 && tx.attempt() == 1) {
                        throw new IllegalStateException("deadlock detected");
                    }
                }).build()) {
            consumer.start();
            awaitSize(calls, 4);
        }
        assertThat(calls).containsExactly("[c1, c2, c3]@1", "[u1, d2]@1", "[u1, d2]@2", "[c4]@1");
        assertThat(transactionIds.stream().distinct()).hasSize(3);
    }

    @Test
    void aTransactionPublishedInPartsIsNotHandedOutWhileItsNextPartIsStillComing() throws Exception {
        List<List<Integer>> handled = new CopyOnWriteArrayList<>();
        try (DeltaforgeConsumer consumer = DeltaforgeConsumer.builder().url(nats.url()).stream("ACCT")
                .durable("it-parts").filterSubject("acct.events.parts")
                .transactionHandler(tx -> handled.add(tx.changes().stream().map(DeltaforgeConsumerIT::id).toList()))
                .build()) {
            consumer.start();
            publishPart(1, false, 1, 2);
            // Several quiet fetches pass: the first part alone must not be taken for the whole transaction.
            Awaitility.await("nothing handled while part 2 is missing").during(Duration.ofSeconds(2))
                    .atMost(Duration.ofSeconds(4)).until(handled::isEmpty);
            publishPart(2, true, 3);
            awaitSize(handled, 1);
        }
        assertThat(handled).containsExactly(List.of(1, 2, 3));
    }

    @Test
    void passesOverTransactionMarkersAndAnEndCompletesItsTransaction() throws Exception {
        List<List<Integer>> handled = new CopyOnWriteArrayList<>();
        try (DeltaforgeConsumer consumer = DeltaforgeConsumer.builder().url(nats.url()).stream("ACCT")
                .durable("it-markers").filterSubject("acct.markers.>")
                .transactionHandler(tx -> handled.add(tx.changes().stream().map(DeltaforgeConsumerIT::id).toList()))
                .build()) {
            consumer.start();
            publishMarker("BEGIN", "901:100");
            // Parts that say more follow: only the END can complete the transaction, not a quiet fetch.
            publishPart("acct.markers.t", "901", 1, false, 11, 12);
            publishMarker("END", "901:300");
            awaitSize(handled, 1);
            assertThat(consumer.termination()).as("markers neither stop nor dead-letter anything").isNotDone();
        }
        assertThat(handled).containsExactly(List.of(11, 12));
    }

    private static void publishMarker(String status, String id) throws Exception {
        String marker = "{\"status\":\"" + status + "\",\"id\":\"" + id + "\",\"event_count\":"
                + (status.equals("END") ? "2" : "null") + ",\"data_collections\":null,\"ts_ms\":1}";
        nc.jetStream().publish("acct.markers.transaction", new Headers().put("Nats-Msg-Id", status + id),
                marker.getBytes(StandardCharsets.UTF_8));
    }

    private static void publishPart(int part, boolean last, int... ids) throws Exception {
        publishPart("acct.events.parts", "900", part, last, ids);
    }

    /** Messages as the NATS sink publishes a part of a transaction split into atomic batches. */
    private static void publishPart(String subject, String txid, int part, boolean last, int... ids) throws Exception {
        for (int id : ids) {
            Headers headers = new Headers().put("Nats-Msg-Id", "parts-" + id)
                    .put("DeltaForge-Tx-Part", Integer.toString(part)).put("DeltaForge-Tx-Last-Part", Boolean.toString(last));
            String event = "{\"specversion\":\"1.0\",\"id\":\"parts-" + id + "\",\"source\":\"/it\",\"type\":\"t\","
                    + "\"subject\":\"public.parts\",\"txid\":\"" + txid + "\",\"data\":{\"op\":\"c\","
                    + "\"after\":{\"id\":" + id + "}}}";
            nc.jetStream().publish(subject, headers, event.getBytes(StandardCharsets.UTF_8));
        }
    }

    private static DeltaforgeConsumer.Builder consumer(String table, ChangeHandler handler) {
        return DeltaforgeConsumer.builder().url(nats.url()).stream("ACCT").durable("it-" + table)
                .filterSubject("acct.events." + table).handler(handler).ackWait(Duration.ofSeconds(2))
                .backoff(Duration.ofMillis(50), Duration.ofMillis(200)).stopTimeout(Duration.ofSeconds(10));
    }

    private static int id(ChangeMessage m) {
        return (m.after() != null ? m.after() : m.before()).get("id").asInt();
    }

    private static void awaitSize(List<?> list, int size) {
        Awaitility.await("" + size + " handled").atMost(Duration.ofSeconds(30)).until(() -> list.size() >= size);
        // Nothing more arrives: a duplicate would show within a few fetches.
        Awaitility.await("no more than " + size).during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                .until(() -> list.size() == size);
    }
}
