package io.deltaforge.api;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.UUID;

/**
 * Deterministic event ids: name-based UUIDs (RFC 9562 version 5, SHA-1) of the change's coordinates, so a
 * replayed change keeps its id and JetStream's {@code Nats-Msg-Id} de-duplication drops the copy.
 */
public final class EventIds {
    /** Namespace of DeltaForge change ids; never change it, or every id changes. */
    private static final UUID NAMESPACE = UUID.fromString("6f1c2a4e-9d3b-5e7f-8a21-4b0c9e5d7f13");

    /**
     * SHA-1 already fed with the namespace; never updated after this, only cloned, which is much cheaper
     * per event than looking the algorithm up again.
     */
    private static final MessageDigest NAMESPACE_DIGEST = namespaceDigest();

    private EventIds() {
    }

    private static MessageDigest namespaceDigest() {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            sha1.update(toBytes(NAMESPACE));
            return sha1;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform must provide SHA-1", e);
        }
    }

    /**
     * The id of the {@code indexInTx}-th change of the transaction that commits at {@code commitLsn}.
     * The index, not the change's own LSN, decides, since one statement's rows may share an LSN.
     */
    public static String forChange(String sourceId, Lsn commitLsn, int indexInTx) {
        return nameUuid(sourceId + '/' + commitLsn.value() + '/' + indexInTx).toString();
    }

    /**
     * The id of a logical decoding message sent outside any transaction, from the LSN that ends it. Kept
     * apart from {@link #forChange} because a transaction's commit may start exactly where such a
     * message ends.
     */
    public static String forMessage(String sourceId, Lsn lsn) {
        return nameUuid("message/" + sourceId + '/' + lsn.value()).toString();
    }

    /**
     * The id of a transaction's BEGIN ({@code begin}) or END marker ({@code io.deltaforge.spi.TransactionMarker}),
     * from the source and the transaction's commit LSN.
     */
    public static String forTransactionMarker(String sourceId, Lsn commitLsn, boolean begin) {
        return nameUuid((begin ? "begin/" : "end/") + sourceId + '/' + commitLsn.value()).toString();
    }

    /** The id of a snapshot row, from the snapshot's id, the table and the row's primary key text. */
    public static String forSnapshotRow(String snapshotId, TableId table, String primaryKey) {
        return nameUuid("snapshot/" + snapshotId + '/' + table + '/' + primaryKey).toString();
    }

    static UUID nameUuid(String name) {
        MessageDigest sha1;
        try {
            sha1 = (MessageDigest) NAMESPACE_DIGEST.clone();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("SHA-1 digest of this platform cannot be cloned", e);
        }
        byte[] hash = sha1.digest(name.getBytes(StandardCharsets.UTF_8));
        hash[6] = (byte) ((hash[6] & 0x0f) | 0x50);
        hash[8] = (byte) ((hash[8] & 0x3f) | 0x80);
        long msb = 0;
        long lsb = 0;
        for (int i = 0; i < 8; i++) {
            msb = (msb << 8) | (hash[i] & 0xff);
        }
        for (int i = 8; i < 16; i++) {
            lsb = (lsb << 8) | (hash[i] & 0xff);
        }
        return new UUID(msb, lsb);
    }

    private static byte[] toBytes(UUID uuid) {
        byte[] out = new byte[16];
        long msb = uuid.getMostSignificantBits();
        long lsb = uuid.getLeastSignificantBits();
        for (int i = 0; i < 8; i++) {
            out[i] = (byte) (msb >>> (56 - 8 * i));
            out[8 + i] = (byte) (lsb >>> (56 - 8 * i));
        }
        return out;
    }
}
