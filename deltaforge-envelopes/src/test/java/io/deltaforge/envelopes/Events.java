package io.deltaforge.envelopes;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.EventIds;
import io.deltaforge.api.Lsn;
import io.deltaforge.api.Op;
import io.deltaforge.api.Row;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** Change events for envelope tests. */
final class Events {
    static final String SOURCE = "users-postgres";
    static final TableId USERS = new TableId("public", "users");
    static final Lsn COMMIT = Lsn.parse("0/16B3790");
    static final Lsn LSN = Lsn.parse("0/16B3748");
    static final long XID = 740;
    static final Instant COMMITTED = Instant.parse("2025-01-15T10:30:00Z");
    static final List<String> USER_COLUMNS = List.of("id", "name", "email", "created_at");

    private Events() {
    }

    static Row alice() {
        return Row.of(USER_COLUMNS, 1L, "Alice", "alice@example.com", "2025-01-15T10:30:00.000Z");
    }

    /** The seed's insert of Alice into public.users. */
    static ChangeEvent insert() {
        return event(Op.CREATE, null, alice(), 0, COMMITTED);
    }

    static ChangeEvent event(Op op, @Nullable Row before, @Nullable Row after, int index, Instant committed) {
        return event(USERS, op, before, after, index, committed);
    }

    static ChangeEvent event(TableId table, Op op, @Nullable Row before, @Nullable Row after, int index,
                             Instant committed) {
        return new ChangeEvent(EventIds.forChange(SOURCE, COMMIT, index), SOURCE, op, table, before, after,
                new SourcePosition(COMMIT, LSN, index, XID, committed));
    }

    /** {@code TRUNCATE public.users}, the 3rd event of its transaction. */
    static ChangeEvent truncate(boolean cascade, boolean restartIdentity) {
        return new ChangeEvent(EventIds.forChange(SOURCE, COMMIT, 2), SOURCE, Op.TRUNCATE, USERS, null, null,
                new SourcePosition(COMMIT, LSN, 2, XID, COMMITTED), 0, List.of(),
                new ChangeEvent.Detail.Truncate(cascade, restartIdentity));
    }

    /** {@code pg_logical_emit_message(transactional, prefix, content)}, the 4th event of its transaction. */
    static ChangeEvent message(String prefix, byte[] content, boolean transactional) {
        return new ChangeEvent(EventIds.forChange(SOURCE, COMMIT, 3), SOURCE, Op.MESSAGE, new TableId("", prefix),
                null, null, new SourcePosition(COMMIT, LSN, 3, XID, COMMITTED), 0, List.of(),
                new ChangeEvent.Detail.Message(prefix, content, transactional));
    }

    static ChangeEvent withAfter(Row after) {
        return event(Op.CREATE, null, after, 0, COMMITTED);
    }
}
