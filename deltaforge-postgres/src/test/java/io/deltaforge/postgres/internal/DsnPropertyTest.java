package io.deltaforge.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.deltaforge.api.ConfigException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Hostile connection strings: whatever the text, {@link Dsn#parse} returns a Dsn or throws a
 * {@link ConfigException} at path {@code dsn}; a password, however badly quoted or encoded, never appears in
 * an error message nor in {@link Dsn#toString()}.
 */
class DsnPropertyTest {
    /** The characters that mean something in some form, plus a little of everything else. */
    private static final String SPECIAL = "=:/@?&%'\\ \t,[]#+";

    @Provide
    Arbitrary<String> connectionStrings() {
        Arbitrary<String> prefix = Arbitraries.of("", "postgres://", "postgresql://", "jdbc:postgresql://",
                "jdbc:postgresql:", "host=", "mysql://", "POSTGRES://", " ");
        Arbitrary<String> body = Arbitraries.strings().withChars(SPECIAL).withChars("abcPORT0123456789")
                .withCharRange('\u00A0', '\u00FF').withChars("é😀\u0000\u2028").ofMaxLength(60);
        return Combinators.combine(prefix, body).as(String::concat);
    }

    @Property(tries = 500)
    void anyTextParsesOrIsAConfigErrorAtDsn(@ForAll("connectionStrings") String text) {
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

    /** Passwords with every character that breaks a form when left unencoded or unquoted. */
    @Provide
    Arbitrary<String> passwords() {
        return Arbitraries.strings().withChars(SPECIAL).withChars("XYZ").withCharRange('\u00C0', '\u00CF')
                .ofMinLength(6).ofMaxLength(20)
                // Only passwords that cannot occur in the surrounding text by chance.
                .filter(p -> p.chars().filter(c -> "XYZ".indexOf(c) >= 0 || c >= '\u00C0').count() >= 4);
    }

    @Provide
    Arbitrary<String> places() {
        return Arbitraries.of("url", "url-encoded", "url-no-host", "url-no-host-path", "keyword", "keyword-quoted",
                "jdbc", "jdbc-encoded", "sslpassword");
    }

    @Property(tries = 500)
    void aPasswordNeverAppearsInErrorsNorToString(@ForAll("passwords") String generated,
                                                  @ForAll("places") String place, @ForAll("rest") String rest) {
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

    @Provide
    Arbitrary<String> rest() {
        return Arbitraries.oneOf(Arbitraries.just(""), Arbitraries.of(List.of("?sslmode=require", "&sslmode=bogus",
                " port=x", ":99999", "?application_name=a b", " sslmode=require")));
    }
}
