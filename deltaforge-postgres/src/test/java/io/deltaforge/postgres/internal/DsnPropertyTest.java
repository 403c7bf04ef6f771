package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ConfigException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile connection strings: whatever the text, {@link Dsn#parse} returns a Dsn or throws a
 * {@link ConfigException} at path {@code dsn}; a password, however badly quoted or encoded, never appears in
 * an error message nor in {@link Dsn#toString()}.
 *
 * <p>Property tests: each case draws its input from {@code new Random(seed)}. The seeds are fixed, so every run
 * tries the same cases, and a failure's name reproduces it: {@code seed N} in the IDE and the surefire XML
 * report ({@code [k]}, the k-th seed, on Maven's console). Rerun the test, or return only N
 * from {@link #seeds()} while debugging.
 */
class DsnPropertyTest {
    private static final long BASE_SEED = 0x5EED_D5A1L;
    private static final int TRIES = 500;
    /** The characters that mean something in some form, plus a little of everything else. */
    private static final String SPECIAL = "=:/@?&%'\\ \t,[]#+";
    private static final List<String> PREFIXES = List.of("", "postgres://", "postgresql://", "jdbc:postgresql://",
            "jdbc:postgresql:", "host=", "mysql://", "POSTGRES://", " ");
    /** Lone surrogates included: "😀" adds its two halves as separate characters. */
    private static final String BODY_CHARS = SPECIAL + "abcPORT0123456789" + range('\u00A0', '\u00FF')
            + "é😀\u0000\u2028";
    private static final String PASSWORD_CHARS = SPECIAL + "XYZ" + range('\u00C0', '\u00CF');
    private static final List<String> PLACES = List.of("url", "url-encoded", "url-no-host", "url-no-host-path",
            "keyword", "keyword-quoted", "jdbc", "jdbc-encoded", "sslpassword");
    private static final List<String> RESTS = List.of("?sslmode=require", "&sslmode=bogus", " port=x", ":99999",
            "?application_name=a b", " sslmode=require");

    static LongStream seeds() {
        return LongStream.concat(LongStream.of(BASE_SEED), new Random(BASE_SEED).longs(TRIES - 1));
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void anyTextParsesOrIsAConfigErrorAtDsn(long seed) {
        Random random = new Random(seed);
        parsesOrIsAConfigErrorAtDsn(pick(random, PREFIXES) + string(random, BODY_CHARS, 0, 60));
    }

    @ParameterizedTest(name = "case {index}")
    @ValueSource(strings = {"", " ", "postgres://", "postgresql://", "jdbc:postgresql://", "jdbc:postgresql:",
            "host=", "mysql://", "POSTGRES://", "\u0000", "😀"})
    void edgeCasesParseOrAreAConfigErrorAtDsn(String text) {
        parsesOrIsAConfigErrorAtDsn(text);
    }

    private static void parsesOrIsAConfigErrorAtDsn(String text) {
        try {
            Dsn dsn = Dsn.parse(text);
            assertThat(dsn.port()).isBetween(1, 65535);
            assertThat(dsn.host()).isNotBlank();
            assertThat(dsn.jdbcUrl()).startsWith("jdbc:postgresql://");
        } catch (ConfigException e) {
            assertThat(e.problems()).singleElement().satisfies(p -> {
                assertThat(p.path()).isEqualTo("dsn");
                assertThat(p.message()).isNotBlank();
            });
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void aPasswordNeverAppearsInErrorsNorToString(long seed) {
        Random random = new Random(seed);
        String generated = password(random);
        String place = pick(random, PLACES);
        String rest = random.nextBoolean() ? "" : pick(random, RESTS);
        // Without a host, an '@' in the password would make what follows it the host: a valid DSN.
        String password = place.startsWith("url-no-host") ? generated.replace('@', 'X') : generated;
        String encoded = URLEncoder.encode(password, StandardCharsets.UTF_8).replace("+", "%20");
        String text = switch (place) {
            case "url" -> "postgres://app:" + password + "@db:5432/app" + rest;
            case "url-encoded" -> "postgres://app:" + encoded + "@db" + rest;
            case "url-no-host" -> "postgres://app:" + password + rest;
            case "url-no-host-path" -> "postgresql://app:" + password + "/app" + rest;
            case "keyword" -> "host=db user=app password=" + password + " " + rest;
            case "keyword-quoted" -> "host=db user=app password='" + password.replace("\\", "\\\\")
                    .replace("'", "\\'") + "' " + rest;
            case "jdbc" -> "jdbc:postgresql://db/app?user=app&password=" + password + rest;
            case "jdbc-encoded" -> "jdbc:postgresql://db/app?user=app&password=" + encoded + rest;
            default -> "postgres://app@db/app?sslpassword=" + encoded + rest;
        };
        try {
            Dsn dsn = Dsn.parse(text);
            assertThat(dsn.toString()).doesNotContain(password);
            assertThat(dsn.describe()).doesNotContain(password);
        } catch (ConfigException e) {
            assertThat(e.getMessage()).doesNotContain(password).doesNotContain(encoded);
        }
    }

    /**
     * Every character that breaks a form when left unencoded or unquoted; only passwords that cannot occur in
     * the surrounding text by chance (at least four of X, Y, Z and À..Ï).
     */
    private static String password(Random random) {
        while (true) {
            String p = string(random, PASSWORD_CHARS, 6, 20);
            if (p.chars().filter(c -> "XYZ".indexOf(c) >= 0 || c >= '\u00C0').count() >= 4) {
                return p;
            }
        }
    }

    private static String string(Random random, String chars, int minLength, int maxLength) {
        char[] out = new char[minLength + random.nextInt(maxLength - minLength + 1)];
        for (int i = 0; i < out.length; i++) {
            out[i] = chars.charAt(random.nextInt(chars.length()));
        }
        return new String(out);
    }

    private static <T> T pick(Random random, List<T> choices) {
        return choices.get(random.nextInt(choices.size()));
    }

    private static String range(char first, char last) {
        StringBuilder out = new StringBuilder();
        for (char c = first; c <= last; c++) {
            out.append(c);
        }
        return out.toString();
    }
}
