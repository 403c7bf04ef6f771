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
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.jspecify.annotations.Nullable;

/**
 * Hostile input for the pgoutput decoder: generated valid transactions must decode to what was written;
 * truncated, corrupted and random messages must fail with a {@link DeltaforgeException} naming the message's
 * LSN, never hang, never allocate what a corrupted length field claims, never leak another exception type.
 */
class PgOutputDecoderPropertyTest {
    private static final int TEXT = TypeMapper.TEXT;
    /** More than any message here needs, far less than a corrupted length could claim. */
    private static final long ALLOCATION_LIMIT = 16L << 20;
    private static ExecutorService watchdog;

    @BeforeContainer
    static void startWatchdog() {
        watchdog = Executors.newSingleThreadExecutor();
    }

    @AfterContainer
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

    /** Names as PostgreSQL allows them: any characters but NUL (surrogates only in pairs, left out here). */
    static Arbitrary<String> names() {
        return Arbitraries.strings().withCharRange('\u0001', '\uD7FF').ofMinLength(1).ofMaxLength(12);
    }

    static Arbitrary<Cell> cell(boolean unchangedAllowed) {
        Arbitrary<Cell> text = Arbitraries.strings().withCharRange('\u0000', '\uD7FF').ofMaxLength(40)
                .map(s -> new Cell('t', s));
        return unchangedAllowed
                ? Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, text), net.jqwik.api.Tuple.of(1,
                        Arbitraries.just(Cell.NULL)), net.jqwik.api.Tuple.of(1, Arbitraries.just(Cell.UNCHANGED)))
                : Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, text),
                        net.jqwik.api.Tuple.of(1, Arbitraries.just(Cell.NULL)));
    }

    static Arbitrary<Table> tables() {
        Arbitrary<List<String>> columns = names().list().ofMinSize(1).ofMaxSize(6).uniqueElements();
        return Combinators.combine(Arbitraries.integers(), names(), names(), columns, Arbitraries.randoms())
                .as((oid, schema, name, cols, random) -> {
                    boolean[] key = new boolean[cols.size()];
                    for (int i = 0; i < key.length; i++) {
                        key[i] = random.nextBoolean();
                    }
                    return new Table(oid, schema, name, cols, key);
                });
    }

    static Arbitrary<Change> changes(Table t) {
        int n = t.columns.size();
        Arbitrary<List<Cell>> row = cell(false).list().ofSize(n);
        Arbitrary<List<Cell>> newRow = cell(true).list().ofSize(n);
        Arbitrary<Change> insert = row.map(r -> new Change(Op.CREATE, (char) 0, null, r));
        Arbitrary<Change> update = Combinators.combine(Arbitraries.of((char) 0, 'K', 'O'), row, newRow)
                .as((kind, old, after) -> new Change(Op.UPDATE, kind, kind == 0 ? null : oldTuple(t, kind, old),
                        after));
        Arbitrary<Change> delete = Combinators.combine(Arbitraries.of('K', 'O'), row)
                .as((kind, old) -> new Change(Op.DELETE, kind, oldTuple(t, kind, old), null));
        return Arbitraries.oneOf(insert, update, delete);
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

    @Provide
    Arbitrary<Transaction> transactions() {
        return tables().flatMap(t -> Combinators.combine(
                Arbitraries.longs().between(1, Long.MAX_VALUE), Arbitraries.longs(), Arbitraries.integers(),
                changes(t).list().ofMaxSize(5), Arbitraries.integers().between(0, 3), Arbitraries.of(true, false),
                names().injectNull(0.5), Arbitraries.bytes().array(byte[].class).ofMaxSize(30))
                .as((lsn, micros, xid, changes, options, truncate, prefix, content) ->
                        new Transaction(t, lsn, micros, xid, changes, options, truncate, prefix, content)));
    }

    @Provide
    Arbitrary<Lsn> lsns() {
        return Arbitraries.longs().map(Lsn::new);
    }

    // ---- properties ---------------------------------------------------------------------------------

    @Property(tries = 200)
    void validTransactionsDecodeToWhatWasWritten(@ForAll("transactions") Transaction tx) {
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

    @Property(tries = 200)
    void aValidMessageCutAnywhereIsAClearError(@ForAll("transactions") Transaction tx,
                                               @ForAll("lsns") Lsn lsn, @ForAll long which, @ForAll long where) {
        List<byte[]> messages = tx.messages();
        int k = (int) Math.floorMod(which, (long) messages.size());
        byte[] whole = messages.get(k);
        byte[] cut = Arrays.copyOf(whole, (int) Math.floorMod(where, (long) whole.length));
        PgOutputDecoder decoder = decoderAt(messages, k);

        assertThatThrownBy(() -> decoder.decode(ByteBuffer.wrap(cut), lsn))
                .isExactlyInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("at LSN " + lsn)
                .hasMessageContaining("truncated");
        assertThat(decoder.next()).isNull();
    }

    @Property(tries = 200)
    void corruptedMessagesDecodeOrFailClearly(@ForAll("transactions") Transaction tx, @ForAll("lsns") Lsn lsn,
                                              @ForAll long which, @ForAll("flips") List<int[]> flips) {
        List<byte[]> messages = tx.messages();
        int k = (int) Math.floorMod(which, (long) messages.size());
        byte[] corrupted = messages.get(k).clone();
        for (int[] flip : flips) {
            corrupted[Math.floorMod(flip[0], corrupted.length)] = (byte) flip[1];
        }
        decodeOrFailClearly(decoderAt(messages, k), corrupted, lsn);
    }

    @Property(tries = 500)
    void randomBytesDecodeOrFailClearly(@ForAll("garbage") byte[] message, @ForAll("lsns") Lsn lsn) {
        PgOutputDecoder decoder = decoder();
        byte[] first = relation(new Table(1, "public", "t", List.of("a", "b"), new boolean[]{true, false}));
        decoder.decode(ByteBuffer.wrap(first), lsn);
        decoder.decode(ByteBuffer.wrap(PgOutputWriter.message('B').i64(1).i64(0).i32(1).bytes()), lsn);
        decodeOrFailClearly(decoder, message, lsn);
    }

    /** A corrupted length field claiming up to 2 GB, or a negative length, where lengths are read. */
    @Property(tries = 200)
    void lengthFieldsAreCheckedBeforeAllocating(@ForAll("claims") int claimed, @ForAll("lengthFields") char field,
                                                @ForAll("lsns") Lsn lsn) {
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

    @Provide
    Arbitrary<List<int[]>> flips() {
        return Combinators.combine(Arbitraries.integers(), Arbitraries.integers().between(0, 255))
                .as((at, value) -> new int[]{at, value}).list().ofMinSize(1).ofMaxSize(4);
    }

    @Provide
    Arbitrary<byte[]> garbage() {
        Arbitrary<Byte> type = Arbitraries.of("BCRIUDTMYOK\0".chars().mapToObj(c -> (byte) c).toList());
        return Combinators.combine(type, Arbitraries.bytes().array(byte[].class).ofMaxSize(64))
                .as((t, rest) -> {
                    byte[] m = new byte[rest.length + 1];
                    m[0] = t;
                    System.arraycopy(rest, 0, m, 1, rest.length);
                    return m;
                })
                .edgeCases(e -> e.add(new byte[0]));
    }

    @Provide
    Arbitrary<Integer> claims() {
        return Arbitraries.oneOf(Arbitraries.integers().between(9, Integer.MAX_VALUE),
                Arbitraries.integers().between(Integer.MIN_VALUE, -1))
                .edgeCases(e -> e.add(Integer.MAX_VALUE).add(Integer.MIN_VALUE).add(-1).add(2_000_000_000));
    }

    @Provide
    Arbitrary<Character> lengthFields() {
        return Arbitraries.of('t', 'b', 'M', 'T');
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
