package io.deltaforge.api;

import java.util.UUID;

/**
 * Deterministic event ids: name-based UUIDs (RFC 9562 version 5, SHA-1) of the change's coordinates, so a
 * replayed change keeps its id and JetStream's {@code Nats-Msg-Id} de-duplication drops the copy.
 */
public final class EventIds {
    /** Namespace of DeltaForge change ids; never change it, or every id changes. */
    private static final UUID NAMESPACE = UUID.fromString("6f1c2a4e-9d3b-5e7f-8a21-4b0c9e5d7f13");

    private static final byte[] NAMESPACE_BYTES = NameUuid.namespaceBytes(NAMESPACE);

    private EventIds() {
    }

    /**
     * The id of the {@code indexInTx}-th change of the transaction that commits at {@code commitLsn}.
     * The index, not the change's own LSN, decides, since one statement's rows may share an LSN.
     */
    public static String forChange(String sourceId, Lsn commitLsn, int indexInTx) {
        return name().append(sourceId).append('/').append(commitLsn.value()).append('/').append(indexInTx).toText();
    }

    /**
     * The id of a logical decoding message sent outside any transaction, from the LSN that ends it. Kept
     * apart from {@link #forChange} because a transaction's commit may start exactly where such a
     * message ends.
     */
    public static String forMessage(String sourceId, Lsn lsn) {
        return name().append("message/").append(sourceId).append('/').append(lsn.value()).toText();
    }

    /**
     * The id of a transaction's BEGIN ({@code begin}) or END marker ({@code io.deltaforge.spi.TransactionMarker}),
     * from the source and the transaction's commit LSN.
     */
    public static String forTransactionMarker(String sourceId, Lsn commitLsn, boolean begin) {
        return name().append(begin ? "begin/" : "end/").append(sourceId).append('/').append(commitLsn.value()).toText();
    }

    /** The id of a snapshot row, from the snapshot's id, the table and the row's primary key text. */
    public static String forSnapshotRow(String snapshotId, TableId table, String primaryKey) {
        return name().append("snapshot/").append(snapshotId).append('/').append(table.schema()).append('.')
                .append(table.table()).append('/').append(primaryKey).toText();
    }

    /** Names are the coordinates' text joined by '/', longs and ints in decimal; never change one. */
    private static NameUuid name() {
        return NameUuid.in(NAMESPACE_BYTES);
    }
}
