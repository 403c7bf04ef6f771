package io.deltaforge.envelopes.internal;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.TransactionMarker;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Debezium's transaction metadata events ({@code provide.transaction.metadata}) for the PostgreSQL connector,
 * the value of a record on its {@code <topic.prefix>.transaction} topic: {@code status} BEGIN or END, {@code id}
 * {@code <txId>:<LSN>}, {@code event_count} and {@code data_collections} (END only) and {@code ts_ms}, the
 * commit time. The LSN is the one Debezium's offset holds when it writes the event: at BEGIN the LSN
 * pgoutput sent the Begin with, which on PostgreSQL 15 and later is the transaction's first change (0 for a
 * transaction with a replication origin, whose Begin comes with its Origin message); at END the LSN just past
 * the commit record.
 */
public final class DebeziumTransactionEvents {
    /** The Connect schema Debezium declares for these values (JSON converter with schemas). */
    private static final String SCHEMA = "{\"type\":\"struct\",\"fields\":["
            + "{\"type\":\"string\",\"optional\":false,\"field\":\"status\"},"
            + "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
            + "{\"type\":\"int64\",\"optional\":true,\"field\":\"event_count\"},"
            + "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":["
            + "{\"type\":\"string\",\"optional\":false,\"field\":\"data_collection\"},"
            + "{\"type\":\"int64\",\"optional\":false,\"field\":\"event_count\"}],"
            + "\"optional\":true,\"name\":\"event.collection\",\"version\":1},\"optional\":true,"
            + "\"field\":\"data_collections\"},"
            + "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"}],"
            + "\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataValue\",\"version\":1}";

    private DebeziumTransactionEvents() {
    }

    /**
     * The event's JSON.
     *
     * @param schema with the Connect schema ({@code schemas.enable=true})
     * @param wrap   in {@code {"schema":...,"payload":...}}; with {@code schema} false the schema is null
     */
    public static byte[] write(TransactionMarker marker, boolean schema, boolean wrap) {
        StringBuilder b = new StringBuilder(160);
        if (wrap) {
            b.append("{\"schema\":").append(schema ? SCHEMA : "null").append(",\"payload\":");
        }
        boolean begin = marker.kind() == TransactionMarker.Kind.BEGIN;
        long lsn = begin && marker.origin() != null ? 0 : marker.lsn().value();
        b.append("{\"status\":\"").append(marker.kind().name()).append("\",\"id\":\"").append(marker.xid())
                .append(':').append(Long.toUnsignedString(lsn)).append('"');
        if (begin) {
            b.append(",\"event_count\":null,\"data_collections\":null");
        } else {
            b.append(",\"event_count\":").append(marker.eventCount()).append(",\"data_collections\":[");
            String comma = "";
            for (Map.Entry<TableId, Long> table : marker.eventsPerTable().entrySet()) {
                b.append(comma).append("{\"data_collection\":\"").append(JsonStringEncoder.getInstance()
                        .quoteAsString(dataCollection(table.getKey()))).append("\",\"event_count\":")
                        .append(table.getValue()).append('}');
                comma = ",";
            }
            b.append(']');
        }
        b.append(",\"ts_ms\":").append(marker.commitTime().toEpochMilli()).append('}');
        if (wrap) {
            b.append('}');
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Debezium's name of a table, {@code schema.table}. For logical decoding messages Debezium writes the
     * identity of an internal object; DeltaForge writes the message's prefix.
     */
    private static String dataCollection(TableId table) {
        return table.schema().isEmpty() ? table.table() : table.schema() + "." + table.table();
    }
}
