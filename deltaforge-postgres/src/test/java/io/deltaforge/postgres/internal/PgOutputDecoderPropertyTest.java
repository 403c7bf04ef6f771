package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile input for the pgoutput decoder: generated valid transactions must decode to what was written;
 * truncated, corrupted and random messages must fail with a {@link DeltaforgeException} naming the message's
 * LSN, never hang, never allocate what a corrupted length field claims, never leak another exception type.
 *
 * <p>Property tests: each case draws its input from {@code new Random(seed)}. The seeds are fixed, so every run
 * tries the same cases, and a failure's name reproduces it: {@code seed N} in the IDE and the surefire XML
 * report ({@code [k]}, the k-th seed, on Maven's console). Rerun the test, or return only N
 * from the seed method while debugging. Valid messages are written with {@link PgOutputWriter}.
 */
class PgOutputDecoderPropertyTest {
    private static final int TEXT = TypeMapper.TEXT;
    /** More than any message here needs, far less than a corrupted length could claim. */
    private static final long ALLOCATION_LIMIT = 16L << 20;
    /** Where lengths are read: text and binary values, a message's content, a truncate's relation count. */
    private static final String LENGTH_FIELDS = "tbMT";
    private static final long BASE_SEED = 0x5EED_0B6EL;
    private static ExecutorService watchdog;

    @BeforeAll
    static void startWatchdog() {
        watchdog = Executors.newSingleThreadExecutor();
    }

    @AfterAll
    static void stopWatchdog() {
        watchdog.shutdownNow();
    }

    // ---- model of what the server sends -------------------------------------------------------------

    /** One column value: 'n' null, 'u' unchanged TOAST, 't' text. */
    record Cell(char kind, @Nullable String text) {
        static final Cell NULL = new Cell('n', null);
        static final Cell UNCHANGED = new Cell('u', null);
    }

    record Table(int oid, String schema, String name, List<String> columns, boolean[] key) {
        TableId id() {
            return new TableId(schema, name);
        }

        List<String> keyColumns() {
            List<String> keys = new ArrayList<>();
            for (int i = 0; i < columns.size(); i++) {
                if (key[i]) {
                    keys.add(columns.get(i));
                }
            }
            return keys;
        }
    }

    /** A row change: old tuple kind 0 (none), 'K' or 'O'; {@code after} null for a delete. */
    record Change(Op op, char oldKind, @Nullable List<Cell> before, @Nullable List<Cell> after) {
    }

    record Transaction(Table table, long commitLsn, long micros, int xid, List<Change> changes, int truncateOptions,
                       boolean truncate, @Nullable String messagePrefix, byte[] messageContent) {
        /** Every message of the transaction, as the server sends them: Relation, Begin, ..., Commit. */
        List<byte[]> messages() {
            List<byte[]> out = new ArrayList<>();
            out.add(relation(table));
            out.add(PgOutputWriter.message('B').i64(commitLsn).i64(micros).i32(xid).bytes());
            for (Change c : changes) {
                out.add(change(table.oid, c));
            }
            if (truncate) {
                out.add(PgOutputWriter.message('T').i32(1).i8(truncateOptions).i32(table.oid).bytes());
            }
            if (messagePrefix != null) {
                out.add(PgOutputWriter.message('M').i8(1).i64(commitLsn - 8).str(messagePrefix)
                        .i32(messageContent.length).raw(messageContent).bytes());
            }
            out.add(PgOutputWriter.message('C').i8(0).i64(commitLsn).i64(commitLsn + 48).i64(micros + 1).bytes());
            return out;
        }
    }

    static byte[] relation(Table t) {
        PgOutputWriter w = PgOutputWriter.message('R').i32(t.oid).str(t.schema).str(t.name).i8('d')
                .i16(t.columns.size());
        for (int i = 0; i < t.columns.size(); i++) {
            w.i8(t.key[i] ? 1 : 0).str(t.columns.get(i)).i32(TEXT).i32(-1);
        }
        return w.bytes();
    }

    static byte[] change(int oid, Change c) {
        char type = switch (c.op) {
            case CREATE -> 'I';
            case UPDATE -> 'U';
            default -> 'D';
        };
        PgOutputWriter w = PgOutputWriter.message(type).i32(oid);
        if (c.oldKind != 0) {
            tuple(w.i8(c.oldKind), c.before);
        }
        if (c.after != null) {
            tuple(w.i8('N'), c.after);
        }
        return w.bytes();
    }

    static void tuple(PgOutputWriter w, List<Cell> cells) {
        w.i16(cells.size());
        for (Cell c : cells) {
            if (c.kind == 't') {
                w.text(c.text);
            } else {
                w.i8(c.kind);
            }
        }
    }

    // ---- generators ---------------------------------------------------------------------------------

    static LongStream seeds(int tries) {
        return LongStream.concat(LongStream.of(BASE_SEED), new Random(BASE_SEED).longs(tries - 1));
    }

    static LongStream seeds200() {
        return seeds(200);
    }

    static LongStream seeds500() {
        return seeds(500);
    }

    /** Names as PostgreSQL allows them: any characters but NUL (surrogates only in pairs, left out here). */
    static String name(Random random) {
        return string(random, '\u0001', 1, 12);
    }

    static String string(Random random, char lowest, int minLength, int maxLength) {
        char[] out = new char[minLength + random.nextInt(maxLength - minLength + 1)];
        for (int i = 0; i < out.length; i++) {
            out[i] = (char) (lowest + random.nextInt('\uD7FF' - lowest + 1));
        }
        return new String(out);
    }

    /** Text six times in eight, else null or (where allowed) unchanged TOAST. */
    static Cell cell(Random random, boolean unchangedAllowed) {
        int roll = random.nextInt(unchangedAllowed ? 8 : 7);
        return roll < 6 ? new Cell('t', string(random, '\u0000', 0, 40)) : roll == 6 ? Cell.NULL : Cell.UNCHANGED;
    }

    static List<Cell> row(Random random, int columns, boolean unchangedAllowed) {
        List<Cell> row = new ArrayList<>();
        for (int i = 0; i < columns; i++) {
            row.add(cell(random, unchangedAllowed));
        }
        return row;
    }

    static Table table(Random random) {
        int oid = random.nextInt();
        String schema = name(random);
        String name = name(random);
        Set<String> columns = new LinkedHashSet<>();
        for (int size = 1 + random.nextInt(6); columns.size() < size; ) {
            columns.add(name(random));
        }
        boolean[] key = new boolean[columns.size()];
        for (int i = 0; i < key.length; i++) {
            key[i] = random.nextBoolean();
        }
        return new Table(oid, schema, name, List.copyOf(columns), key);
    }

    /** An insert, an update (with no, a 'K' or an 'O' old tuple) or a delete, one time in three each. */
    static Change change(Random random, Table t) {
        int n = t.columns.size();
        return switch (random.nextInt(3)) {
            case 0 -> new Change(Op.CREATE, (char) 0, null, row(random, n, false));
            case 1 -> {
                char kind = new char[]{0, 'K', 'O'}[random.nextInt(3)];
                List<Cell> old = row(random, n, false);
                yield new Change(Op.UPDATE, kind, kind == 0 ? null : oldTuple(t, kind, old), row(random, n, true));
            }
            default -> {
                char kind = random.nextBoolean() ? 'K' : 'O';
                yield new Change(Op.DELETE, kind, oldTuple(t, kind, row(random, n, false)), null);
            }
        };
    }

    /** A 'K' old tuple holds the key columns; the server sends the others as nulls. */
    static List<Cell> oldTuple(Table t, char kind, List<Cell> row) {
        if (kind == 'O') {
            return row;
        }
        List<Cell> out = new ArrayList<>(row);
        for (int i = 0; i < out.size(); i++) {
            if (!t.key[i]) {
                out.set(i, Cell.NULL);
            }
        }
        return out;
    }

    static Transaction transaction(Random random) {
        Table table = table(random);
        long commitLsn = 1 + (random.nextLong() & Long.MAX_VALUE) % Long.MAX_VALUE;
        long micros = random.nextLong();
        int xid = random.nextInt();
        List<Change> changes = new ArrayList<>();
        for (int n = random.nextInt(6); n > 0; n--) {
            changes.add(change(random, table));
        }
        int truncateOptions = random.nextInt(4);
        boolean truncate = random.nextBoolean();
        String messagePrefix = random.nextBoolean() ? null : name(random);
        return new Transaction(table, commitLsn, micros, xid, changes, truncateOptions, truncate, messagePrefix,
                bytes(random, 30));
    }

    static byte[] bytes(Random random, int maxLength) {
        byte[] out = new byte[random.nextInt(maxLength + 1)];
        random.nextBytes(out);
        return out;
    }

    /** A message type the decoder knows (or NUL) followed by random bytes. */
    static byte[] garbage(Random random) {
        byte[] rest = bytes(random, 64);
        byte[] m = new byte[rest.length + 1];
        m[0] = (byte) "BCRIUDTMYOK\0".charAt(random.nextInt(12));
        System.arraycopy(rest, 0, m, 1, rest.length);
        return m;
    }

    /** A length a corrupted field could claim: more than the 8 bytes that follow, up to 2 GB, or negative. */
    static int claim(Random random) {
        return random.nextBoolean() ? 9 + random.nextInt(Integer.MAX_VALUE - 8)
                : -1 - random.nextInt(Integer.MAX_VALUE);
    }

    // ---- properties ---------------------------------------------------------------------------------

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds200")
    void validTransactionsDecodeToWhatWasWritten(long seed) {
        Transaction tx = transaction(new Random(seed));
        PgOutputDecoder decoder = decoder();
        List<byte[]> messages = tx.messages();
        List<SourceRecord> records = new ArrayList<>();
        for (byte[] m : messages) {
            SourceRecord r = decoder.decode(ByteBuffer.wrap(m), new Lsn(7));
            while (r != null) {
                records.add(r);
                r = decoder.next();
            }
        }
        int expectedEvents = tx.changes.size() + (tx.truncate ? 1 : 0) + (tx.messagePrefix != null ? 1 : 0);
        assertThat(records).hasSize(expectedEvents + 1);
        for (int i = 0; i < tx.changes.size(); i++) {
            Change c = tx.changes.get(i);
            ChangeEvent e = (ChangeEvent) records.get(i);
            assertThat(e.op()).isEqualTo(c.op);
            assertThat(e.table()).isEqualTo(tx.table.id());
            assertThat(e.position().indexInTx()).isEqualTo(i);
            assertThat(e.position().xid()).isEqualTo(Integer.toUnsignedLong(tx.xid));
            assertThat(e.position().commitLsn()).isEqualTo(new Lsn(tx.commitLsn));
            assertThat(e.keyColumns()).isEqualTo(tx.table.keyColumns());
            assertThat(e.before()).isEqualTo(c.before == null ? null
                    : row(tx.table, c.before, c.oldKind == 'K'));
            assertThat(e.after()).isEqualTo(c.after == null ? null : row(tx.table, c.after, false));
            if (c.after != null) {
                assertThat(e.unchangedColumns()).isEqualTo(unchanged(tx.table, c.after));
            }
        }
        int next = tx.changes.size();
        if (tx.truncate) {
            ChangeEvent e = (ChangeEvent) records.get(next++);
            assertThat(e.op()).isEqualTo(Op.TRUNCATE);
            assertThat(e.detail()).isEqualTo(new ChangeEvent.Detail.Truncate((tx.truncateOptions & 1) != 0,
                    (tx.truncateOptions & 2) != 0));
        }
        if (tx.messagePrefix != null) {
            ChangeEvent e = (ChangeEvent) records.get(next++);
            assertThat(e.op()).isEqualTo(Op.MESSAGE);
            ChangeEvent.Detail.Message detail = (ChangeEvent.Detail.Message) e.detail();
            assertThat(detail.prefix()).isEqualTo(tx.messagePrefix);
            assertThat(detail.content()).isEqualTo(tx.messageContent);
        }
        TransactionCommit commit = (TransactionCommit) records.get(next);
        assertThat(commit.commitLsn()).isEqualTo(new Lsn(tx.commitLsn));
        assertThat(commit.endLsn()).isEqualTo(new Lsn(tx.commitLsn + 48));
        assertThat(commit.eventCount()).isEqualTo(expectedEvents);
        assertThat(decoder.inTransaction()).isFalse();
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds200")
    void aValidMessageCutAnywhereIsAClearError(long seed) {
        Random random = new Random(seed);
        List<byte[]> messages = transaction(random).messages();
        Lsn lsn = new Lsn(random.nextLong());
        int k = random.nextInt(messages.size());
        byte[] whole = messages.get(k);
        byte[] cut = Arrays.copyOf(whole, random.nextInt(whole.length));
        PgOutputDecoder decoder = decoderAt(messages, k);

        assertThatThrownBy(() -> decoder.decode(ByteBuffer.wrap(cut), lsn))
                .isExactlyInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("at LSN " + lsn)
                .hasMessageContaining("truncated");
        assertThat(decoder.next()).isNull();
    }

    /** One to four bytes of a valid message overwritten. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds200")
    void corruptedMessagesDecodeOrFailClearly(long seed) {
        Random random = new Random(seed);
        List<byte[]> messages = transaction(random).messages();
        Lsn lsn = new Lsn(random.nextLong());
        int k = random.nextInt(messages.size());
        byte[] corrupted = messages.get(k).clone();
        for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
            corrupted[random.nextInt(corrupted.length)] = (byte) random.nextInt(256);
        }
        decodeOrFailClearly(decoderAt(messages, k), corrupted, lsn);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds500")
    void randomBytesDecodeOrFailClearly(long seed) {
        Random random = new Random(seed);
        randomBytesDecodeOrFailClearly(garbage(random), new Lsn(random.nextLong()));
    }

    @Test
    void anEmptyMessageDecodesOrFailsClearly() {
        randomBytesDecodeOrFailClearly(new byte[0], new Lsn(7));
    }

    private static void randomBytesDecodeOrFailClearly(byte[] message, Lsn lsn) {
        PgOutputDecoder decoder = decoder();
        byte[] first = relation(new Table(1, "public", "t", List.of("a", "b"), new boolean[]{true, false}));
        decoder.decode(ByteBuffer.wrap(first), lsn);
        decoder.decode(ByteBuffer.wrap(PgOutputWriter.message('B').i64(1).i64(0).i32(1).bytes()), lsn);
        decodeOrFailClearly(decoder, message, lsn);
    }

    /** A corrupted length field claiming up to 2 GB, or a negative length, where lengths are read. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds200")
    void lengthFieldsAreCheckedBeforeAllocating(long seed) {
        Random random = new Random(seed);
        lengthFieldIsCheckedBeforeAllocating(claim(random), LENGTH_FIELDS.charAt(random.nextInt(4)),
                new Lsn(random.nextLong()));
    }

    @ParameterizedTest(name = "{0} claimed in {1}")
    @MethodSource("boundaryClaims")
    void boundaryLengthFieldsAreCheckedBeforeAllocating(int claimed, char field) {
        lengthFieldIsCheckedBeforeAllocating(claimed, field, new Lsn(7));
    }

    static Stream<Arguments> boundaryClaims() {
        return IntStream.of(Integer.MAX_VALUE, Integer.MIN_VALUE, -1, 2_000_000_000, 9).boxed()
                .flatMap(claim -> LENGTH_FIELDS.chars().mapToObj(field -> Arguments.of(claim, (char) field)));
    }

    private static void lengthFieldIsCheckedBeforeAllocating(int claimed, char field, Lsn lsn) {
        PgOutputDecoder decoder = decoder();
        decoder.decode(ByteBuffer.wrap(relation(new Table(1, "public", "t", List.of("a"), new boolean[]{true}))),
                lsn);
        decoder.decode(ByteBuffer.wrap(PgOutputWriter.message('B').i64(1).i64(0).i32(1).bytes()), lsn);
        byte[] message = switch (field) {
            case 't', 'b' -> PgOutputWriter.message('I').i32(1).i8('N').i16(1).i8(field).i32(claimed)
                    .raw(new byte[8]).bytes();
            case 'M' -> PgOutputWriter.message('M').i8(1).i64(1).str("p").i32(claimed).raw(new byte[8]).bytes();
            default -> PgOutputWriter.message('T').i32(claimed).i8(0).i32(1).bytes();
        };
        long before = allocatedBytes();
        assertThatThrownBy(() -> decoder.decode(ByteBuffer.wrap(message), lsn))
                .isExactlyInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("at LSN " + lsn);
        assertThat(allocatedBytes() - before).isLessThan(ALLOCATION_LIMIT);
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private static PgOutputDecoder decoder() {
        return new PgOutputDecoder("pg", t -> true, new TypeMapper(), true, null,
                Clock.fixed(Instant.parse("2025-01-15T10:30:00Z"), ZoneOffset.UTC));
    }

    /** A decoder that has decoded the messages before {@code k}, so message {@code k} meets the state it expects. */
    private static PgOutputDecoder decoderAt(List<byte[]> messages, int k) {
        PgOutputDecoder decoder = decoder();
        for (int i = 0; i < k; i++) {
            decoder.decode(ByteBuffer.wrap(messages.get(i)), new Lsn(7));
            while (decoder.next() != null) {
                // drained: only the state matters here
            }
        }
        return decoder;
    }

    /** Decodes within a time limit: a result or a DeltaforgeException naming the LSN, nothing else. */
    private static void decodeOrFailClearly(PgOutputDecoder decoder, byte[] message, Lsn lsn) {
        Future<?> run = watchdog.submit(() -> {
            try {
                decoder.decode(ByteBuffer.wrap(message), lsn);
                while (decoder.next() != null) {
                    // drained
                }
            } catch (DeltaforgeException e) {
                if (!e.getMessage().contains("LSN " + lsn)) {
                    fail("error does not name the message's LSN " + lsn + ": " + e.getMessage());
                }
            }
        });
        try {
            run.get(Duration.ofSeconds(10).toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            run.cancel(true);
            fail("decoding " + Arrays.toString(message) + " did not finish within 10 s");
        } catch (java.util.concurrent.ExecutionException e) {
            fail("decoding " + Arrays.toString(message) + " failed with " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    private static Row row(Table t, List<Cell> cells, boolean keyOnly) {
        List<String> names = new ArrayList<>();
        List<Object> values = new ArrayList<>();
        for (int i = 0; i < cells.size(); i++) {
            Cell c = cells.get(i);
            if (c.kind == 'u' || (keyOnly && !t.key[i])) {
                continue;
            }
            names.add(t.columns.get(i));
            values.add(c.text);
        }
        return Row.of(names, values.toArray());
    }

    private static List<String> unchanged(Table t, List<Cell> cells) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < cells.size(); i++) {
            if (cells.get(i).kind == 'u') {
                out.add(t.columns.get(i));
            }
        }
        return out;
    }
}
