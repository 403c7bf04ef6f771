package io.deltaforge.consumer;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One change as read from the stream, the same for every envelope. Which fields an envelope carries:
 *
 * <table>
 * <caption>fields per envelope</caption>
 * <tr><th>field</th><th>cloudevents</th><th>native</th><th>debezium</th></tr>
 * <tr><td>{@code key}</td><td>{@code partitionkey}</td><td>null</td><td>null</td></tr>
 * <tr><td>{@code commitLsn}</td><td>from {@code sequence}</td><td>null</td><td>null</td></tr>
 * <tr><td>{@code indexInTransaction}, {@code sequence}</td><td>yes</td><td>index only</td><td>null</td></tr>
 * </table>
 *
 * <pre>{@code
 * if (change.op() == ChangeOp.UPDATE) {
 *     String email = change.after().path("email").asText();
 * }
 * }</pre>
 *
 * @param eventId            the event id ({@code Nats-Msg-Id}): stable across replays, the key to de-duplicate on
 * @param op                 what happened
 * @param schema             the table's schema; {@code ""} for logical messages
 * @param table              the table name; for logical messages the message prefix
 * @param key                the row's primary key when the envelope carries it: a text node for one column,
 *                           an array for several; null otherwise
 * @param before             the old row (key columns only unless REPLICA IDENTITY FULL); null when absent
 * @param after              the new row; null for deletes, truncates and messages
 * @param lsn                the change's LSN in PostgreSQL text form ({@code 0/16B3748}); null when absent
 * @param commitLsn          its transaction's commit LSN in text form; null when the envelope does not carry it
 * @param transactionId      the PostgreSQL transaction id as decimal text; null when absent (snapshot reads)
 * @param indexInTransaction 0-based position in the transaction; null when the envelope does not carry it
 * @param sequence           commit LSN and index as text that sorts in capture order (the CloudEvents
 *                           {@code sequence}); null when either part is unknown
 * @param commitTime         the commit time; null when absent
 * @param format             the envelope the message was written with
 * @param data               the change's JSON as written (CloudEvents: {@code data}; debezium: the payload),
 *                           for the fields not modelled here, such as {@code truncate} and {@code message}
 * @param subject            the NATS subject it was published on
 * @param streamSequence     its sequence number in the stream
 * @param attempt            1 for the first attempt at this message, counting redeliveries and retries
 */
public record ChangeMessage(String eventId, ChangeOp op, String schema, String table, @Nullable JsonNode key,
                            @Nullable JsonNode before, @Nullable JsonNode after, @Nullable String lsn,
                            @Nullable String commitLsn, @Nullable String transactionId,
                            @Nullable Integer indexInTransaction, @Nullable String sequence,
                            @Nullable Instant commitTime, EnvelopeFormat format, JsonNode data, String subject,
                            long streamSequence, long attempt) {
    public ChangeMessage {
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(subject, "subject");
    }

    /** {@code schema.table}, or the prefix alone for a logical message. */
    public String qualifiedTable() {
        return schema.isEmpty() ? table : schema + "." + table;
    }

    /** The same change at another attempt. */
    public ChangeMessage withAttempt(long newAttempt) {
        return new ChangeMessage(eventId, op, schema, table, key, before, after, lsn, commitLsn, transactionId,
                indexInTransaction, sequence, commitTime, format, data, subject, streamSequence, newAttempt);
    }
}
