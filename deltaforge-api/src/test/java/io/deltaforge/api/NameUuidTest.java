package io.deltaforge.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The ids must never change: a stream written by an older version would otherwise store a replayed change
 * twice. So every result is compared with a version 5 UUID made the reference way, with the JDK's SHA-1.
 */
class NameUuidTest {
    private static final UUID NAMESPACE = UUID.fromString("6f1c2a4e-9d3b-5e7f-8a21-4b0c9e5d7f13");
    private static final byte[] NAMESPACE_BYTES = NameUuid.namespaceBytes(NAMESPACE);

    @Test
    void namesOfEveryLengthUpToFourBlocksGiveTheJdksUuid() {
        Random random = new Random(21);
        for (int length = 0; length <= 200; length++) {
            for (int sample = 0; sample < 20; sample++) {
                String name = randomName(random, length);
                assertThat(NameUuid.in(NAMESPACE_BYTES).append(name).toText())
                        .as("name of %d UTF-8 bytes: %s", length, name)
                        .isEqualTo(reference(name.getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    @Test
    void unpairedSurrogatesAreEncodedAsTheJdkDoes() {
        for (String name : new String[] {"a\uD800b", "\uDC00", "x\uD83D", "\uD83D\uDE00\uD800", "null"}) {
            assertThat(NameUuid.in(NAMESPACE_BYTES).append(name).toText())
                    .isEqualTo(reference(name.getBytes(StandardCharsets.UTF_8)));
        }
        assertThat(NameUuid.in(NAMESPACE_BYTES).append((String) null).toText())
                .isEqualTo(reference("null".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void numbersAreWrittenAsLongToStringWritesThem() {
        long[] values = {0, 1, -1, 9, 10, 99, 100, Integer.MAX_VALUE, Integer.MIN_VALUE, Long.MAX_VALUE,
                Long.MIN_VALUE, Long.MIN_VALUE + 1, 0x16B374D848L, -0x16B374D848L};
        for (long value : values) {
            for (int padding = 0; padding < 70; padding += 23) {
                String prefix = "p".repeat(padding) + '/';
                assertThat(NameUuid.in(NAMESPACE_BYTES).append(prefix).append(value).append('/').append(value).toText())
                        .as("%s%d", prefix, value)
                        .isEqualTo(reference((prefix + value + '/' + value).getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    @Test
    void idsOfEveryKindEqualTheReferenceOfTheirName() {
        Lsn lsn = Lsn.parse("16/B374D848");
        TableId table = TableId.parse("sch\u00e9ma.users");
        String longSource = "orders-service-postgres-primary-eu-west-1";
        for (String source : new String[] {"users-postgres", longSource, "s\u00fc"}) {
            assertThat(EventIds.forChange(source, lsn, 7))
                    .isEqualTo(reference(source + '/' + lsn.value() + '/' + 7));
            assertThat(EventIds.forChange(source, lsn, -1))
                    .isEqualTo(reference(source + '/' + lsn.value() + "/-1"));
            assertThat(EventIds.forMessage(source, lsn)).isEqualTo(reference("message/" + source + '/' + lsn.value()));
            assertThat(EventIds.forTransactionMarker(source, lsn, true))
                    .isEqualTo(reference("begin/" + source + '/' + lsn.value()));
            assertThat(EventIds.forTransactionMarker(source, lsn, false))
                    .isEqualTo(reference("end/" + source + '/' + lsn.value()));
            assertThat(EventIds.forSnapshotRow(source, table, "{\"id\":42}"))
                    .isEqualTo(reference("snapshot/" + source + '/' + table + "/{\"id\":42}"));
        }
    }

    /** Ids written by earlier versions; a change here means every replayed event is stored twice. */
    @Test
    void idsWrittenByEarlierVersionsStayTheSame() {
        // Computed with the MessageDigest-based EventIds of commit af5afde.
        Lsn lsn = Lsn.parse("16/B374D848");
        assertThat(EventIds.forChange("orders-service-postgres-primary-eu-west-1", lsn, 123456))
                .isEqualTo("e76caa3a-8426-559a-957e-7ed37a852116");
        assertThat(EventIds.forMessage("users-postgres", lsn)).isEqualTo("8185b2d4-0a9e-58a3-ba35-fd269048b8cc");
        assertThat(EventIds.forTransactionMarker("users-postgres", lsn, true))
                .isEqualTo("c9b75616-b803-5936-990c-a8ec4b7bd799");
        assertThat(EventIds.forTransactionMarker("users-postgres", lsn, false))
                .isEqualTo("f8707ebc-0b15-511d-ae01-4344f2fe5fe5");
        assertThat(EventIds.forSnapshotRow("users-postgres@0/16B3748", TableId.parse("sch\u00e9ma.users"),
                "{\"id\":\"\u00e4\u20ac\uD83D\uDE00\"}")).isEqualTo("858f5add-fe9c-575d-b419-a1fb6d878678");
    }

    private static String reference(String name) {
        return reference(name.getBytes(StandardCharsets.UTF_8));
    }

    /** RFC 9562 section 5.5, with the JDK's SHA-1. */
    private static String reference(byte[] name) {
        MessageDigest sha1;
        try {
            sha1 = MessageDigest.getInstance("SHA-1");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        sha1.update(NAMESPACE_BYTES);
        byte[] hash = sha1.digest(name);
        hash[6] = (byte) ((hash[6] & 0x0f) | 0x50);
        hash[8] = (byte) ((hash[8] & 0x3f) | 0x80);
        long msb = 0;
        long lsb = 0;
        for (int i = 0; i < 8; i++) {
            msb = (msb << 8) | (hash[i] & 0xff);
            lsb = (lsb << 8) | (hash[8 + i] & 0xff);
        }
        return new UUID(msb, lsb).toString();
    }

    /** A name of exactly {@code utf8Length} UTF-8 bytes, mixing 1-, 2-, 3- and 4-byte characters. */
    private static String randomName(Random random, int utf8Length) {
        StringBuilder name = new StringBuilder();
        int left = utf8Length;
        while (left > 0) {
            int width = 1 + random.nextInt(Math.min(left, 4));
            switch (width) {
                case 1 -> name.append((char) (0x20 + random.nextInt(0x5f)));
                case 2 -> name.append((char) (0x80 + random.nextInt(0x780)));
                case 3 -> name.append((char) (0x800 + random.nextInt(0xD800 - 0x800)));
                default -> name.appendCodePoint(0x10000 + random.nextInt(0x100000));
            }
            left -= width;
        }
        return name.toString();
    }
}
