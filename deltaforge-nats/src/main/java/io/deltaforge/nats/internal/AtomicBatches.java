package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.spi.Batch;
import io.nats.client.api.PersistMode;
import io.nats.client.api.ServerInfo;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JetStream atomic batch publish (ADR-50, nats-server 2.12+) for whole transactions: whether a sink uses it,
 * and how a {@link Batch} divides into atomic batches.
 *
 * <p>The server's rules (nats-server {@code server/stream.go}, {@code jetstream_batching.go}): at most 1,000
 * messages per batch ({@code max_batch_size}), 50 open batches per stream and 1,000 per server, a batch with
 * no message for 10 s is abandoned, the batch id is at most 64 characters, the stream must allow it
 * ({@code allow_atomic}, which JetStream refuses together with {@code persist_mode: async}). A sink publishes
 * one batch at a time on its connection, so it holds at most one open batch.
 *
 * <p>Each transaction is one atomic batch per part of {@link Batch#TRANSACTION_PART} events, the part being
 * {@code indexInTx / 1000}: so the same transaction always yields the same batches, with the same message ids,
 * whatever the engine's batch sizes, the filters or the replays. That is what makes a batch rejected for a
 * duplicate message id one that is stored already (see {@link AtomicPublish}).
 *
 * <p>The batch id names the transaction's part and, after it, the attempt. A runner killed in the middle of an
 * atomic batch leaves it open on the server until the batch timeout; an attempt under the same id would meet
 * that remnant, be abandoned by the server, and be resent only after the transactions sent behind it were
 * stored, out of commit order. Attempts never share an id, so a remnant only times out.
 */
final class AtomicBatches {
    static final String MIN_SERVER = "2.12.0";
    private static final String OLD_SERVER = "nats-server ";
    static final String BATCH_ID = "Nats-Batch-Id";
    static final String BATCH_SEQUENCE = "Nats-Batch-Sequence";
    static final String BATCH_COMMIT = "Nats-Batch-Commit";
    /** On the events of a transaction published in several atomic batches: the part's number, from 1. */
    static final String PART_HEADER = "DeltaForge-Tx-Part";
    /** With {@link #PART_HEADER}: {@code true} on the events of the transaction's last part, else {@code false}. */
    static final String LAST_PART_HEADER = "DeltaForge-Tx-Last-Part";
    /** JSAtomicPublishContainsDuplicateMessageErr: a message id of the batch is stored already. */
    static final int CONTAINS_DUPLICATE = 10201;
    /** JSAtomicPublishIncompleteBatchErr: the server abandoned the batch (gap, timeout, restart). */
    static final int INCOMPLETE = 10176;
    /** JSAtomicPublishTooLargeBatchErrF: more messages than the server's max_batch_size. */
    static final int TOO_LARGE = 10199;
    /** JSAtomicPublishDisabledErr: the stream does not allow atomic publish. */
    static final int DISABLED = 10174;
    private static final Logger log = LoggerFactory.getLogger(AtomicBatches.class);
    /** 40 bits: at most 8 base-36 digits in a batch id, and no repeat within any one runner's lifetime. */
    private static final long ATTEMPT_BITS = (1L << 40) - 1;
    private static final Pattern PLAIN_ID = Pattern.compile("[A-Za-z0-9_.-]{1,24}");

    private AtomicBatches() {
    }

    /**
     * Why this sink cannot publish atomically, or null when it can.
     *
     * @param deadLetterInStream the dead-letter subject (if any) is captured by the sink's stream: a
     *                           replacement record must be stored in the same atomic batch
     */
    static @Nullable String obstacle(NatsSinkSettings settings, ServerInfo server, StreamConfiguration stream,
                                     boolean deadLetterInStream) {
        if (!serverSupports(server)) {
            return OLD_SERVER + server.getVersion() + " has no atomic batch publish (it came with nats-server 2.12);"
                    + " upgrade the server";
        }
        if (!stream.getAllowAtomicPublish()) {
            String fix = "allow atomic publish on stream '" + settings.stream() + "' (stream configuration"
                    + " allow_atomic: true, e.g. nats stream edit " + settings.stream() + " --config with it set)";
            if (stream.getPersistMode() == PersistMode.Async) {
                return "stream '" + settings.stream() + "' uses asynchronous persistence (persist_mode: async), which"
                        + " JetStream does not allow with atomic publish and cannot change on an existing stream; use a"
                        + " stream with persist_mode: default and allow_atomic: true";
            }
            return "stream '" + settings.stream() + "' does not allow atomic publish (allow_atomic is false); " + fix;
        }
        if (!deadLetterInStream) {
            return "dead_letter_subject '" + settings.deadLetterSubject() + "' is not captured by stream '"
                    + settings.stream() + "', and an atomic batch goes to one stream only; add the subject to stream '"
                    + settings.stream() + "'";
        }
        return null;
    }

    /**
     * Why {@code auto} leaves atomic publish off on a stream that allows it, or null. On a single-replica
     * file stream nats-server (2.12 to 2.15) stages each atomic batch in a temporary file store before the
     * commit: measured on the test machine, about 8 ms per batch, so transactions of a few rows fell from
     * 8,000-38,000 to about 350 events/s (a memory stream did 13,500). That is a price to choose, not a default.
     */
    static @Nullable String autoDeclines(NatsSinkSettings settings, StreamConfiguration stream) {
        if (stream.getReplicas() <= 1 && stream.getStorageType() == StorageType.File) {
            return "stream '" + settings.stream() + "' is a single-replica file stream, where the server stages every"
                    + " atomic batch in a temporary store first (several milliseconds per transaction); set"
                    + " atomic_transactions: on to pay that for atomicity, or use a replicated or memory stream";
        }
        return null;
    }

    static boolean serverSupports(ServerInfo server) {
        return server.isSameOrNewerThanVersion(MIN_SERVER);
    }

    /**
     * Applies {@code atomic_transactions} to what the server and stream allow: on, or off with a log line
     * saying why (auto), or a failure naming the obstacle and the fix (on).
     *
     * @param name the sink's name for messages
     */
    static boolean decide(NatsSinkSettings settings, @Nullable String obstacle, StreamConfiguration stream,
                          String name) {
        switch (settings.atomicTransactions()) {
            case OFF:
                return false;
            case ON:
                if (obstacle != null) {
                    throw new DeltaforgeException(name + ": atomic_transactions is on, but " + obstacle
                            + "; or set atomic_transactions: auto (falls back to publishing events one by one) or off");
                }
                break;
            default:
                if (obstacle != null) {
                    // An old server is a known state (INFO); a stream that could allow it is a setting to fix (WARN).
                    String line = "{}: publishing events one by one, not as atomic transactions (atomic_transactions:"
                            + " auto): {}; consumers may see part of a transaction while it is being published";
                    if (obstacle.startsWith(OLD_SERVER)) {
                        log.info(line, name, obstacle);
                    } else {
                        log.warn(line, name, obstacle);
                    }
                    return false;
                }
                String declined = autoDeclines(settings, stream);
                if (declined != null) {
                    log.info("{}: publishing events one by one, not as atomic transactions (atomic_transactions:"
                            + " auto): {}", name, declined);
                    return false;
                }
                break;
        }
        log.info("{}: publishing each transaction as JetStream atomic batches of up to {} events to stream '{}'", name,
                Batch.TRANSACTION_PART, settings.stream());
        return true;
    }

    /**
     * One atomic batch: messages {@code from} (inclusive) to {@code to} (exclusive) of a {@link Batch}.
     *
     * @param id       the Nats-Batch-Id
     * @param part     the transaction's part, from 1
     * @param lastPart whether no later part of the transaction follows
     * @param split    whether the transaction has more than one part (then its events say which part they are in)
     * @param marker   a transaction marker that did not fit in its part's atomic batch
     */
    record Piece(int from, int to, String id, int part, boolean lastPart, boolean split, boolean marker) {
        Piece(int from, int to, String id, int part, boolean lastPart, boolean split) {
            this(from, to, id, part, lastPart, split, false);
        }

        int size() {
            return to - from;
        }

        /**
         * A whole transaction of one event: a plain publish stores it atomically already. Not a marker beside its
         * part's atomic batch: a plain publish can be stored while the atomic batch sent before it is abandoned
         * (the runner killed mid-commit), which would leave an END before its events after the replay.
         */
        boolean single() {
            return size() == 1 && !split && !marker;
        }
    }

    /**
     * Divides the batch's events into atomic batches: one per part of each transaction.
     *
     * @throws DeltaforgeException when a transaction has more than one part and {@code oversize} is fail
     */
    static List<Piece> pieces(Batch batch, boolean splitOversize, String name, long attempt) {
        List<ChangeEvent> events = batch.events();
        List<Piece> pieces = new ArrayList<>();
        int from = 0;
        while (from < events.size()) {
            ChangeEvent first = events.get(from);
            int part = part(first);
            int to = from + 1;
            while (to < events.size() && sameTransaction(events.get(to), first) && part(events.get(to)) == part) {
                to++;
            }
            boolean lastPart = to < events.size() ? !sameTransaction(events.get(to), first)
                    : !batch.transactionContinues();
            boolean split = part > 0 || !lastPart;
            if (split && !splitOversize) {
                throw new DeltaforgeException(name + ": the transaction of source '" + first.sourceId() + "' committed at"
                        + " LSN " + first.position().commitLsn() + " (xid " + first.position().xid() + ") has more than "
                        + Batch.TRANSACTION_PART + " events, more than one JetStream atomic batch holds, and oversize is"
                        + " fail; set oversize: split to publish it as consecutive atomic batches (atomic per part)");
            }
            String id = batchId(first.sourceId(), first.position().commitLsn(), part + 1, attempt);
            int begin = from;
            int end = to;
            if (end - begin > Batch.TRANSACTION_PART && TransactionMarkers.isMarker(events.get(begin))) {
                begin++;
            }
            if (end - begin > Batch.TRANSACTION_PART && TransactionMarkers.isMarker(events.get(end - 1))) {
                end--;
            }
            // A part of 1,000 events with its BEGIN or END is more than an atomic batch holds: the marker goes
            // as an atomic batch of its own, so that the events stay one atomic batch.
            if (begin > from) {
                pieces.add(new Piece(from, begin, "b" + id, part + 1, lastPart, false, true));
            }
            pieces.add(new Piece(begin, end, id, part + 1, lastPart, split));
            if (end < to) {
                pieces.add(new Piece(end, to, "e" + id, part + 1, lastPart, false, true));
            }
            from = to;
        }
        return pieces;
    }

    /**
     * The Nats-Batch-Id of one attempt at a transaction's part: source, commit LSN, part and attempt, at most 60 of
     * the server's 64 characters with a marker piece's prefix. A source id that is long or has unusual characters is
     * replaced by a hash of it.
     */
    static String batchId(String sourceId, Lsn commitLsn, int part, long attempt) {
        String source = PLAIN_ID.matcher(sourceId).matches() ? sourceId : "h" + sha256Hex(sourceId).substring(0, 16);
        return source + "@" + commitLsn + "#" + part + "." + Long.toString(attempt & ATTEMPT_BITS, 36);
    }

    private static int part(ChangeEvent event) {
        return event.position().indexInTx() / Batch.TRANSACTION_PART;
    }

    private static boolean sameTransaction(ChangeEvent a, ChangeEvent b) {
        return a.position().commitLsn().equals(b.position().commitLsn()) && a.sourceId().equals(b.sourceId());
    }

    private static String sha256Hex(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
