package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ColumnType;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.RawJson;
import io.deltaforge.api.Row;
import io.deltaforge.api.TableId;
import io.deltaforge.spi.Heartbeat;
import io.deltaforge.spi.SourceRecord;
import io.deltaforge.spi.TransactionCommit;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PgOutputDecoderTest {
    private static final Lsn COMMIT = Lsn.parse("0/16B3748");
    private static final Lsn END = Lsn.parse("0/16B3778");
    /** 2025-01-15T10:30:00Z in microseconds since 2000-01-01. */
    private static final long TS = (Instant.parse("2025-01-15T10:30:00Z").getEpochSecond() - 946_684_800L) * 1_000_000L;

    private final PgOutputDecoder decoder = new PgOutputDecoder("pg", Set.of(), new TypeMapper());

    @Test
    void decodesInsertWithTypedValuesAndDeterministicId() {
        decode(begin(COMMIT, 7));
        assertThat(decoder.inTransaction()).isTrue();
        decode(usersRelation(16384));
        ChangeEvent e = (ChangeEvent) decode(insert(16384, text("1"), text("Alice"), text("{\"x\":1}"), nul()));
        assertThat(e.op()).isEqualTo(Op.CREATE);
        assertThat(e.table()).isEqualTo(new TableId("public", "users"));
        assertThat(e.before()).isNull();
        assertThat(e.after()).isEqualTo(Row.of(List.of("id", "name", "doc", "note"), 1L, "Alice",
                new RawJson("{\"x\":1}"), null));
        assertThat(e.id()).isEqualTo(EventIds.forChange("pg", COMMIT, 0));
        assertThat(e.keyColumns()).containsExactly("id");
        assertThat(e.sourceId()).isEqualTo("pg");
        assertThat(e.position().commitLsn()).isEqualTo(COMMIT);
        assertThat(e.position().lsn()).isEqualTo(new Lsn(100));
        assertThat(e.position().indexInTx()).isZero();
        assertThat(e.position().xid()).isEqualTo(7);
        assertThat(e.position().commitTime()).isEqualTo(Instant.parse("2025-01-15T10:30:00Z"));

        TransactionCommit c = (TransactionCommit) decode(commit(COMMIT, END));
        assertThat(c).isEqualTo(new TransactionCommit(7, COMMIT, END, Instant.parse("2025-01-15T10:30:00.000001Z"), 1));
        assertThat(decoder.inTransaction()).isFalse();
    }

    @Test
    void eventsNameTheirColumnTypesDatabaseOriginAndThePreviousCommitEnd() {
        PgOutputDecoder d = new PgOutputDecoder("pg", "app", t -> true, new TypeMapper(), false, null,
                java.time.Clock.systemUTC(), (p, c, l, x) -> { });
        d.decode(ByteBuffer.wrap(begin(COMMIT, 7)), COMMIT);
        d.decode(ByteBuffer.wrap(usersRelation(16384)), COMMIT);
        ChangeEvent first = (ChangeEvent) d.decode(ByteBuffer.wrap(insert(16384, text("1"), nul(), nul(), nul())),
                new Lsn(100));
        assertThat(first.position().previousCommitEnd()).isNull();
        assertThat(first.database()).isEqualTo("app");
        assertThat(first.columnTypes()).extracting(ColumnType::type).containsExactly("int8", "varchar", "jsonb", "text");
        d.decode(ByteBuffer.wrap(commit(COMMIT, END)), END);

        Lsn next = Lsn.parse("0/16B4000");
        assertThat(first.origin()).isNull();
        d.decode(ByteBuffer.wrap(begin(next, 8)), next);
        d.decode(ByteBuffer.wrap(msg('O').i64(0xABCDEF).str("upstream").bytes()), next);
        ChangeEvent second = (ChangeEvent) d.decode(ByteBuffer.wrap(insert(16384, text("2"), nul(), nul(), nul())),
                next);
        assertThat(second.position().previousCommitEnd()).isEqualTo(END);
        assertThat(second.origin()).isEqualTo(new ChangeEvent.Origin("upstream", new Lsn(0xABCDEF)));
    }

    @Test
    void columnTextIsTheSameFromASliceOfALargerArrayAndFromABufferWithoutOne() {
        byte[] message = update(16384, 'O', new byte[][]{text("1"), text("Zoë ✓"), nul(), text("old")},
                text("2"), text("Ünïcode 😀"), text("{\"k\":\"v\"}"), text("last"));
        ChangeEvent expected = decodeUpdate(ByteBuffer.wrap(message));

        // pgjdbc hands over slices of its read buffer: the message starts at an offset of the array, and
        // other bytes follow it.
        byte[] larger = new byte[message.length + 20];
        java.util.Arrays.fill(larger, (byte) 'x');
        System.arraycopy(message, 0, larger, 7, message.length);
        ByteBuffer slice = ByteBuffer.wrap(larger, 7, message.length).slice();
        assertThat(slice.arrayOffset()).isEqualTo(7);
        assertThat(decodeUpdate(slice)).isEqualTo(expected);
        assertThat(decodeUpdate(ByteBuffer.wrap(message).asReadOnlyBuffer())).isEqualTo(expected);

        assertThat(expected.before()).isEqualTo(Row.of(List.of("id", "name", "doc", "note"), 1L, "Zoë ✓", null, "old"));
        assertThat(expected.after()).isEqualTo(Row.of(List.of("id", "name", "doc", "note"), 2L, "Ünïcode 😀",
                new RawJson("{\"k\":\"v\"}"), "last"));
    }

    private static ChangeEvent decodeUpdate(ByteBuffer update) {
        PgOutputDecoder d = new PgOutputDecoder("pg", java.util.Set.of(), new TypeMapper());
        d.decode(ByteBuffer.wrap(begin(COMMIT, 8)), COMMIT);
        d.decode(ByteBuffer.wrap(usersRelation(16384)), COMMIT);
        return (ChangeEvent) d.decode(update, new Lsn(100));
    }

    @Test
    void decodesUpdateWithKeyOnlyOldTupleAndDelete() {
        decode(begin(COMMIT, 8));
        decode(usersRelation(16384));
        ChangeEvent u = (ChangeEvent) decode(update(16384, 'K', new byte[][]{text("1"), nul(), nul(), nul()},
                text("2"), text("Bob"), nul(), nul()));
        assertThat(u.op()).isEqualTo(Op.UPDATE);
        assertThat(u.before()).isEqualTo(Row.of(List.of("id"), 1L));
        assertThat(u.after().get("id")).isEqualTo(2L);
        assertThat(u.position().indexInTx()).isZero();

        ChangeEvent d = (ChangeEvent) decode(delete(16384, 'O', text("2"), text("Bob"), nul(), text("n")));
        assertThat(d.op()).isEqualTo(Op.DELETE);
        assertThat(d.after()).isNull();
        assertThat(d.before()).isEqualTo(Row.of(List.of("id", "name", "doc", "note"), 2L, "Bob", null, "n"));
        assertThat(d.position().indexInTx()).isEqualTo(1);
        assertThat(d.id()).isEqualTo(EventIds.forChange("pg", COMMIT, 1));
    }

    /** The envelopes cache each column list's encoded names by the list itself: one list per table, not per row. */
    @Test
    void keyOnlyRowsOfOneTableShareOneColumnList() {
        decode(begin(COMMIT, 8));
        decode(usersRelation(16384));
        ChangeEvent first = (ChangeEvent) decode(delete(16384, 'K', text("1"), nul(), nul(), nul()));
        ChangeEvent second = (ChangeEvent) decode(delete(16384, 'K', text("2"), nul(), nul(), nul()));
        assertThat(first.before()).isEqualTo(Row.of(List.of("id"), 1L));
        assertThat(second.before()).isEqualTo(Row.of(List.of("id"), 2L));
        assertThat(second.before().columns()).isSameAs(first.before().columns()).isSameAs(first.keyColumns());
    }

    @Test
    void updateWithoutOldTupleHasNoBefore() {
        decode(begin(COMMIT, 8));
        decode(usersRelation(16384));
        ChangeEvent u = (ChangeEvent) decode(update(16384, (char) 0, null, text("1"), text("A"), nul(), nul()));
        assertThat(u.before()).isNull();
    }

    @Test
    void leavesUnchangedToastColumnsOutOfTheRow() {
        decode(begin(COMMIT, 9));
        decode(usersRelation(16384));
        ChangeEvent u = (ChangeEvent) decode(update(16384, (char) 0, null, text("1"), text("A"), toast(), nul()));
        assertThat(u.after().columns()).containsExactly("id", "name", "note");
        assertThat(u.after().hasColumn("doc")).isFalse();
        assertThat(u.after().get("note")).isNull();
    }

    @Test
    void rowsThatLeaveTheSameColumnsOutShareOneColumnList() {
        decode(begin(COMMIT, 9));
        decode(usersRelation(16384));
        ChangeEvent first = (ChangeEvent) decode(update(16384, (char) 0, null, text("1"), text("A"), toast(), nul()));
        ChangeEvent second = (ChangeEvent) decode(update(16384, (char) 0, null, text("2"), text("B"), toast(), nul()));
        ChangeEvent other = (ChangeEvent) decode(update(16384, (char) 0, null, text("3"), toast(), text("{}"), nul()));
        ChangeEvent again = (ChangeEvent) decode(update(16384, (char) 0, null, text("4"), text("D"), toast(), nul()));
        assertThat(second.after()).isEqualTo(Row.of(List.of("id", "name", "note"), 2L, "B", null));
        assertThat(second.after().columns()).isSameAs(first.after().columns());
        assertThat(other.after().columns()).containsExactly("id", "doc", "note");
        assertThat(again.after().columns()).containsExactly("id", "name", "note");
    }

    @Test
    void filteredTablesStillCountTowardIndexesAndCommit() {
        PgOutputDecoder filtered = new PgOutputDecoder("pg", Set.of(new TableId("public", "orders")), new TypeMapper());
        filtered.decode(ByteBuffer.wrap(begin(COMMIT, 10)), new Lsn(90));
        filtered.decode(ByteBuffer.wrap(usersRelation(1)), new Lsn(95));
        filtered.decode(ByteBuffer.wrap(relation(2, "public", "orders", new String[]{"id"},
                new int[]{TypeMapper.INT8}, new boolean[]{true})), new Lsn(96));
        assertThat(filtered.decode(ByteBuffer.wrap(insert(1, text("1"), text("A"), nul(), nul())), new Lsn(100))).isNull();
        ChangeEvent o = (ChangeEvent) filtered.decode(ByteBuffer.wrap(insert(2, text("5"))), new Lsn(101));
        assertThat(o.position().indexInTx()).isEqualTo(1);
        assertThat(o.id()).isEqualTo(EventIds.forChange("pg", COMMIT, 1));
        TransactionCommit c = (TransactionCommit) filtered.decode(ByteBuffer.wrap(commit(COMMIT, END)), new Lsn(102));
        assertThat(c.eventCount()).isEqualTo(1);
    }

    @Test
    void emptyTransactionStillYieldsACommit() {
        decode(begin(COMMIT, 11));
        TransactionCommit c = (TransactionCommit) decode(commit(COMMIT, END));
        assertThat(c.eventCount()).isZero();
        assertThat(c.endLsn()).isEqualTo(END);
    }

    @Test
    void relationResendReplacesTheColumns() {
        decode(begin(COMMIT, 12));
        decode(usersRelation(16384));
        decode(relation(16384, "public", "users", new String[]{"id", "email"},
                new int[]{TypeMapper.INT4, 25}, new boolean[]{true, false}));
        ChangeEvent e = (ChangeEvent) decode(insert(16384, text("3"), text("c@x")));
        assertThat(e.after()).isEqualTo(Row.of(List.of("id", "email"), 3L, "c@x"));
    }

    @Test
    void consumesTypeAndOriginAndSkipsUnknownMessages() {
        decode(begin(COMMIT, 13));
        decode(usersRelation(16384));
        assertThat(decode(msg('Y').i32(16400).str("public").str("mood").bytes())).isNull();
        assertThat(decode(msg('O').i64(5).str("node1").bytes())).isNull();
        assertThat(decode(msg('Z').i32(1).bytes())).isNull();
        assertThat(decode(msg('Z').i32(1).bytes())).isNull();
        ChangeEvent e = (ChangeEvent) decode(insert(16384, text("1"), text("A"), nul(), nul()));
        assertThat(e.position().indexInTx()).isZero();
    }

    @Test
    void truncateBecomesOneEventPerTableWithItsFlags() {
        PgOutputDecoder filtered = new PgOutputDecoder("pg", Set.of(new TableId("public", "users"),
                new TableId("public", "orders")), new TypeMapper());
        filtered.decode(ByteBuffer.wrap(begin(COMMIT, 20)), new Lsn(90));
        filtered.decode(ByteBuffer.wrap(usersRelation(1)), new Lsn(91));
        filtered.decode(ByteBuffer.wrap(relation(2, "public", "skipped", new String[]{"id"},
                new int[]{TypeMapper.INT8}, new boolean[]{true})), new Lsn(92));
        filtered.decode(ByteBuffer.wrap(relation(3, "public", "orders", new String[]{"id"},
                new int[]{TypeMapper.INT8}, new boolean[]{true})), new Lsn(93));
        ChangeEvent first = (ChangeEvent) filtered.decode(ByteBuffer.wrap(msg('T').i32(3).i8(3).i32(1).i32(2).i32(3)
                .bytes()), new Lsn(100));
        ChangeEvent second = (ChangeEvent) filtered.next();
        assertThat(filtered.next()).isNull();
        assertThat(first.op()).isEqualTo(Op.TRUNCATE);
        assertThat(first.table()).isEqualTo(new TableId("public", "users"));
        assertThat(first.before()).isNull();
        assertThat(first.after()).isNull();
        assertThat(first.detail()).isEqualTo(new ChangeEvent.Detail.Truncate(true, true));
        assertThat(first.position().indexInTx()).isZero();
        assertThat(first.schemaVersion()).isEqualTo(1);
        assertThat(second.table()).isEqualTo(new TableId("public", "orders"));
        assertThat(second.position().indexInTx()).isEqualTo(2);
        assertThat(second.id()).isEqualTo(EventIds.forChange("pg", COMMIT, 2));
        ChangeEvent plain = (ChangeEvent) filtered.decode(ByteBuffer.wrap(msg('T').i32(1).i8(0).i32(1).bytes()),
                new Lsn(101));
        assertThat(plain.detail()).isEqualTo(new ChangeEvent.Detail.Truncate(false, false));
        assertThat(plain.position().indexInTx()).isEqualTo(3);
        TransactionCommit c = (TransactionCommit) filtered.decode(ByteBuffer.wrap(commit(COMMIT, END)), new Lsn(102));
        assertThat(c.eventCount()).isEqualTo(3);
    }

    @Test
    void transactionalMessageIsAnEventOfItsTransactionWhenEnabled() {
        PgOutputDecoder withMessages = messagesDecoder();
        withMessages.decode(ByteBuffer.wrap(begin(COMMIT, 21)), new Lsn(90));
        ChangeEvent m = (ChangeEvent) withMessages.decode(ByteBuffer.wrap(
                msg('M').i8(1).i64(95).str("audit").i32(2).raw(new byte[]{1, 2}).bytes()), new Lsn(95));
        assertThat(m.op()).isEqualTo(Op.MESSAGE);
        assertThat(m.table()).isEqualTo(new TableId("", "audit"));
        ChangeEvent.Detail.Message detail = (ChangeEvent.Detail.Message) m.detail();
        assertThat(detail.prefix()).isEqualTo("audit");
        assertThat(detail.content()).containsExactly(1, 2);
        assertThat(detail.transactional()).isTrue();
        assertThat(m.id()).isEqualTo(EventIds.forChange("pg", COMMIT, 0));
        assertThat(m.position().commitLsn()).isEqualTo(COMMIT);
        assertThat(withMessages.next()).isNull();
        TransactionCommit c = (TransactionCommit) withMessages.decode(ByteBuffer.wrap(commit(COMMIT, END)), new Lsn(99));
        assertThat(c.eventCount()).isEqualTo(1);
    }

    @Test
    void nonTransactionalMessageIsItsOwnTransactionAtItsLsn() {
        PgOutputDecoder withMessages = messagesDecoder();
        Lsn at = Lsn.parse("0/5000");
        ChangeEvent m = (ChangeEvent) withMessages.decode(ByteBuffer.wrap(
                msg('M').i8(0).i64(at.value()).str("ping").i32(0).bytes()), at);
        TransactionCommit c = (TransactionCommit) withMessages.next();
        assertThat(withMessages.next()).isNull();
        assertThat(m.op()).isEqualTo(Op.MESSAGE);
        assertThat(((ChangeEvent.Detail.Message) m.detail()).transactional()).isFalse();
        assertThat(m.position().commitLsn()).isEqualTo(at);
        // Index -1 keeps it apart from a transaction whose commit record starts where the message ends.
        assertThat(m.id()).isEqualTo(EventIds.forMessage("pg", at)).isNotEqualTo(EventIds.forChange("pg", at, 0));
        assertThat(c).isEqualTo(new TransactionCommit(0, at, at, Instant.parse("2025-01-15T10:30:00Z"), 1));
        assertThat(withMessages.inTransaction()).isFalse();
    }

    @Test
    void messagesAreDroppedWhenNotEnabledAndHeartbeatMessagesBecomeHeartbeats() {
        Lsn at = Lsn.parse("0/6000");
        assertThat(decode(msg('M').i8(0).i64(at.value()).str("ping").i32(0).bytes())).isNull();
        assertThat(decoder.decode(ByteBuffer.wrap(msg('M').i8(0).i64(at.value()).str(PgOutputDecoder.HEARTBEAT_PREFIX)
                .i32(0).bytes()), at)).isEqualTo(new Heartbeat(at));
        PgOutputDecoder withMessages = messagesDecoder();
        assertThat(withMessages.decode(ByteBuffer.wrap(msg('M').i8(0).i64(at.value())
                .str(PgOutputDecoder.HEARTBEAT_PREFIX).i32(0).bytes()), at)).isEqualTo(new Heartbeat(at));
        assertThat(withMessages.next()).isNull();
    }

    @Test
    void controlMessagesGoToTheListenerAndUserMessagesTakeNoIndexWhenDisabled() {
        List<String> seen = new java.util.ArrayList<>();
        PgOutputDecoder d = new PgOutputDecoder("pg", t -> true, new TypeMapper(), false, null,
                java.time.Clock.systemUTC(), (prefix, content, lsn, xid) -> seen.add(prefix + "|" + content + "|" + xid));
        d.decode(ByteBuffer.wrap(begin(COMMIT, 31)), new Lsn(90));
        d.decode(ByteBuffer.wrap(usersRelation(16384)), new Lsn(91));
        assertThat(d.decode(ByteBuffer.wrap(msg('M').i8(1).i64(92).str(PgOutputDecoder.WATERMARK_PREFIX).i32(5)
                .raw("a:1:l".getBytes(StandardCharsets.UTF_8)).bytes()), new Lsn(92))).isNull();
        assertThat(d.decode(ByteBuffer.wrap(msg('M').i8(1).i64(93).str("user").i32(0).bytes()), new Lsn(93))).isNull();
        ChangeEvent e = (ChangeEvent) d.decode(ByteBuffer.wrap(insert(16384, text("1"), text("A"), nul(), nul())),
                new Lsn(94));
        // As if the server had sent neither message: the ids of the transaction's events do not change.
        assertThat(e.position().indexInTx()).isZero();
        assertThat(d.decode(ByteBuffer.wrap(msg('M').i8(0).i64(95).str(PgOutputDecoder.SIGNAL_PREFIX).i32(2)
                .raw("{}".getBytes(StandardCharsets.UTF_8)).bytes()), new Lsn(95))).isNull();
        assertThat(seen).containsExactly("deltaforge.watermark|a:1:l|31", "deltaforge.signal|{}|0");
        PgOutputDecoder withMessages = new PgOutputDecoder("pg", t -> true, new TypeMapper(), true, null,
                java.time.Clock.systemUTC(), (prefix, content, lsn, xid) -> { });
        withMessages.decode(ByteBuffer.wrap(begin(COMMIT, 32)), new Lsn(90));
        assertThat(withMessages.decode(ByteBuffer.wrap(msg('M').i8(1).i64(92).str(PgOutputDecoder.WATERMARK_PREFIX)
                .i32(0).bytes()), new Lsn(92))).as("never an event").isNull();
    }

    @Test
    void schemaVersionGrowsOnlyWhenColumnsChange() {
        decode(begin(COMMIT, 22));
        decode(usersRelation(16384));
        ChangeEvent v1 = (ChangeEvent) decode(insert(16384, text("1"), text("A"), nul(), nul()));
        decode(usersRelation(16384)); // resent unchanged (e.g. after an unrelated ALTER)
        ChangeEvent same = (ChangeEvent) decode(insert(16384, text("2"), text("B"), nul(), nul()));
        decode(relation(16384, "public", "users", new String[]{"id", "name", "doc", "note", "age"},
                new int[]{TypeMapper.INT8, 1043, TypeMapper.JSONB, 25, TypeMapper.INT4},
                new boolean[]{true, false, false, false, false}));
        ChangeEvent v2 = (ChangeEvent) decode(insert(16384, text("3"), text("C"), nul(), nul(), text("40")));
        decode(relation(16384, "public", "users", new String[]{"id", "name", "doc", "note", "age"},
                new int[]{TypeMapper.INT8, 1043, TypeMapper.JSONB, 25, TypeMapper.INT8},
                new boolean[]{true, false, false, false, false}));
        ChangeEvent v3 = (ChangeEvent) decode(insert(16384, text("4"), text("D"), nul(), nul(), text("41")));
        assertThat(List.of(v1.schemaVersion(), same.schemaVersion(), v2.schemaVersion(), v3.schemaVersion()))
                .containsExactly(1, 1, 2, 3);
        assertThat(v2.after().get("age")).isEqualTo(40L);
    }

    @Test
    void unchangedToastColumnsAreListedAndCanCarryAPlaceholder() {
        decode(begin(COMMIT, 23));
        decode(usersRelation(16384));
        ChangeEvent omitted = (ChangeEvent) decode(update(16384, (char) 0, null, text("1"), toast(), toast(), nul()));
        assertThat(omitted.unchangedColumns()).containsExactly("name", "doc");
        assertThat(omitted.after().columns()).containsExactly("id", "note");
        ChangeEvent insert = (ChangeEvent) decode(insert(16384, text("2"), text("A"), nul(), nul()));
        assertThat(insert.unchangedColumns()).isEmpty();

        PgOutputDecoder withPlaceholder = new PgOutputDecoder("pg", t -> true, new TypeMapper(), false,
                "__unchanged__", java.time.Clock.systemUTC());
        withPlaceholder.decode(ByteBuffer.wrap(begin(COMMIT, 24)), new Lsn(1));
        withPlaceholder.decode(ByteBuffer.wrap(usersRelation(16384)), new Lsn(1));
        ChangeEvent placed = (ChangeEvent) withPlaceholder.decode(ByteBuffer.wrap(
                update(16384, 'O', new byte[][]{text("1"), text("A"), text("{}"), nul()},
                        text("1"), text("B"), toast(), nul())), new Lsn(2));
        assertThat(placed.unchangedColumns()).containsExactly("doc");
        assertThat(placed.after().get("doc")).isEqualTo("__unchanged__");
        assertThat(placed.before().get("doc")).isEqualTo(new RawJson("{}"));
    }

    private static PgOutputDecoder messagesDecoder() {
        return new PgOutputDecoder("pg", t -> true, new TypeMapper(), true, null,
                java.time.Clock.fixed(Instant.parse("2025-01-15T10:30:00Z"), java.time.ZoneOffset.UTC));
    }

    @Test
    void mapsEmptyNamespaceToPgCatalog() {
        decode(begin(COMMIT, 14));
        decode(relation(5, "", "pg_thing", new String[]{"a"}, new int[]{25}, new boolean[]{false}));
        ChangeEvent e = (ChangeEvent) decode(insert(5, text("x")));
        assertThat(e.table()).isEqualTo(new TableId("pg_catalog", "pg_thing"));
    }

    @Test
    void rejectsChangesOfUnknownRelationsAndTruncatedMessages() {
        decode(begin(COMMIT, 15));
        assertThatThrownBy(() -> decode(insert(999, text("1")))).isInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("relation OID 999");
        assertThatThrownBy(() -> decode(msg('R').i32(1).bytes())).isInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("truncated");
    }

    @Test
    void rejectsAnEmptyMessageNamingItsLsn() {
        assertThatThrownBy(() -> decoder.decode(ByteBuffer.allocate(0), new Lsn(100)))
                .isExactlyInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("at LSN 0/64 is truncated");
    }

    @Test
    void protocolErrorsNameTheMessagesLsn() {
        Lsn at = Lsn.parse("FFFFFFFF/FFFFFF42");
        assertThatThrownBy(() -> decoder.decode(ByteBuffer.wrap(insert(15, text("1"))), at))
                .isExactlyInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("at LSN FFFFFFFF/FFFFFF42 arrived outside a transaction");
        decode(begin(COMMIT, 15));
        assertThatThrownBy(() -> decoder.decode(ByteBuffer.wrap(insert(15, text("1"))), at))
                .hasMessageContaining("relation OID 15 at LSN FFFFFFFF/FFFFFF42");
        decode(usersRelation(16384));
        assertThatThrownBy(() -> decoder.decode(ByteBuffer.wrap(delete(16384, 'X', text("1"))), at))
                .hasMessageContaining("malformed pgoutput Delete message at LSN FFFFFFFF/FFFFFF42: expected old tuple");
    }

    @Test
    void rejectsLengthFieldsThatClaimMoreThanTheMessageHolds() {
        decode(begin(COMMIT, 16));
        decode(relation(1, "public", "t", new String[]{"a"}, new int[]{25}, new boolean[]{true}));
        for (int claimed : new int[]{Integer.MIN_VALUE, -1, 9, 2_000_000_000}) {
            for (char kind : new char[]{'t', 'b'}) {
                assertThatThrownBy(() -> decode(msg('I').i32(1).i8('N').i16(1).i8(kind).i32(claimed).raw(new byte[8])
                        .bytes())).isExactlyInstanceOf(DeltaforgeException.class)
                        .hasMessageContaining("at LSN 0/64: truncated or corrupted: column value length " + claimed);
            }
            assertThatThrownBy(() -> decode(msg('M').i8(1).i64(1).str("p").i32(claimed).raw(new byte[8]).bytes()))
                    .hasMessageContaining("truncated or corrupted: content length " + claimed);
            assertThatThrownBy(() -> decode(msg('T').i32(claimed).i8(0).i32(1).bytes()))
                    .hasMessageContaining("truncated or corrupted: relation count " + claimed);
        }
    }

    @Test
    void rejectsChangesOutsideATransaction() {
        assertThatThrownBy(() -> decode(insert(1, text("1")))).isInstanceOf(DeltaforgeException.class)
                .hasMessageContaining("outside a transaction");
    }

    @Test
    void decodesUtf8Text() {
        decode(begin(COMMIT, 16));
        decode(usersRelation(16384));
        ChangeEvent e = (ChangeEvent) decode(insert(16384, text("1"), text("Zoë 🚀"), nul(), nul()));
        assertThat(e.after().get("name")).isEqualTo("Zoë 🚀");
    }

    // ---- message builders -----------------------------------------------------------------------------

    private SourceRecord decode(byte[] message) {
        return decoder.decode(ByteBuffer.wrap(message), new Lsn(100));
    }

    private static byte[] begin(Lsn finalLsn, int xid) {
        return msg('B').i64(finalLsn.value()).i64(TS).i32(xid).bytes();
    }

    private static byte[] commit(Lsn commitLsn, Lsn endLsn) {
        return msg('C').i8(0).i64(commitLsn.value()).i64(endLsn.value()).i64(TS + 1).bytes();
    }

    private static byte[] usersRelation(int oid) {
        return relation(oid, "public", "users", new String[]{"id", "name", "doc", "note"},
                new int[]{TypeMapper.INT8, 1043, TypeMapper.JSONB, 25}, new boolean[]{true, false, false, false});
    }

    private static byte[] relation(int oid, String ns, String name, String[] cols, int[] types, boolean[] key) {
        PgOutputWriter m = msg('R').i32(oid).str(ns).str(name).i8('d').i16(cols.length);
        for (int i = 0; i < cols.length; i++) {
            m.i8(key[i] ? 1 : 0).str(cols[i]).i32(types[i]).i32(-1);
        }
        return m.bytes();
    }

    private static byte[] insert(int oid, byte[]... cols) {
        return tuple(msg('I').i32(oid).i8('N'), cols).bytes();
    }

    private static byte[] update(int oid, char oldKind, byte[][] old, byte[]... cols) {
        PgOutputWriter m = msg('U').i32(oid);
        if (oldKind != 0) {
            tuple(m.i8(oldKind), old);
        }
        return tuple(m.i8('N'), cols).bytes();
    }

    private static byte[] delete(int oid, char kind, byte[]... cols) {
        return tuple(msg('D').i32(oid).i8(kind), cols).bytes();
    }

    private static PgOutputWriter tuple(PgOutputWriter m, byte[][] cols) {
        m.i16(cols.length);
        for (byte[] c : cols) {
            m.raw(c);
        }
        return m;
    }

    private static byte[] text(String s) {
        return new PgOutputWriter().text(s).bytes();
    }

    private static byte[] nul() {
        return new byte[]{'n'};
    }

    private static byte[] toast() {
        return new byte[]{'u'};
    }

    private static PgOutputWriter msg(char type) {
        return PgOutputWriter.message(type);
    }
}
