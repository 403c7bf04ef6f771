package io.deltaforge.examples.benchmark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import io.nats.client.IterableConsumer;
import io.nats.client.Message;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.OrderedConsumerConfiguration;
import java.io.IOException;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.BitSet;

/**
 * The soak's verdict: every row of the table against every message of the stream, read whole by an
 * ordered consumer of its own. A row is lost when no message carries its id, duplicated for each message
 * beyond the first that does; a message for an id the table does not hold is a phantom.
 */
record StreamAudit(long messages, long rowsInTable, long lost, long duplicates, long phantoms, long foreign) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static StreamAudit run(Connection nc, String stream, PostgresServer pg, String table) throws Exception {
        long last = nc.jetStreamManagement().getStreamInfo(stream).getStreamState().getLastSequence();
        BitSet seen = new BitSet();
        long messages = 0;
        long duplicates = 0;
        long foreign = 0;
        var consumer = nc.getStreamContext(stream).createOrderedConsumer(
                new OrderedConsumerConfiguration().deliverPolicy(DeliverPolicy.All));
        try (IterableConsumer it = consumer.iterate()) {
            // Up to the last sequence rather than a count: a deleted message leaves a gap in the sequences.
            for (long seq = 0; seq < last; ) {
                Message m = it.nextMessage(Duration.ofSeconds(10));
                if (m == null) {
                    throw new IOException("stream " + stream + ": no message after " + seq + " within 10 s (last "
                            + last + ")");
                }
                seq = m.metaData().streamSequence();
                messages++;
                JsonNode ce = JSON.readTree(m.getData());
                JsonNode after = ce.path("data").path("after");
                if (!ce.path("subject").asText().equals("public." + table) || !after.has("id")) {
                    foreign++;
                    continue;
                }
                int id = Math.toIntExact(after.get("id").asLong());
                if (seen.get(id)) {
                    duplicates++;
                } else {
                    seen.set(id);
                }
            }
        }
        BitSet inTable = new BitSet();
        try (java.sql.Connection c = pg.connect()) {
            c.setAutoCommit(false); // a cursor, fetched in chunks
            try (Statement st = c.createStatement()) {
                st.setFetchSize(10_000);
                try (ResultSet rs = st.executeQuery("SELECT id FROM " + table)) {
                    while (rs.next()) {
                        inTable.set(Math.toIntExact(rs.getLong(1)));
                    }
                }
            }
        }
        BitSet lost = (BitSet) inTable.clone();
        lost.andNot(seen);
        BitSet phantoms = (BitSet) seen.clone();
        phantoms.andNot(inTable);
        return new StreamAudit(messages, inTable.cardinality(), lost.cardinality(), duplicates,
                phantoms.cardinality(), foreign);
    }
}
