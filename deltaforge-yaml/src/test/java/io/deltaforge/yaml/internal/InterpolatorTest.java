package io.deltaforge.yaml.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InterpolatorTest {
    private final Interpolator interpolator = new Interpolator(Map.of("HOST", "db", "EMPTY", "", "DOLLAR", "$")::get);
    private final List<String> errors = new ArrayList<>();

    private String run(String s) {
        return interpolator.interpolate(s, errors);
    }

    @Test
    void replacesVariablesAnywhereInAString() {
        assertThat(run("postgres://${HOST}:5432/${HOST}")).isEqualTo("postgres://db:5432/db");
        assertThat(errors).isEmpty();
    }

    @Test
    void usesTheDefaultWhenUnsetOrEmpty() {
        assertThat(run("${MISSING:-x}|${EMPTY:-y}|${HOST:-z}|${MISSING:-}")).isEqualTo("x|y|db|");
        assertThat(errors).isEmpty();
    }

    @Test
    void anEmptyVariableWithoutDefaultIsEmpty() {
        assertThat(run("[${EMPTY}]")).isEqualTo("[]");
        assertThat(errors).isEmpty();
    }

    @Test
    void doubleDollarBraceIsALiteral() {
        assertThat(run("$${HOST} costs $5 or $$5")).isEqualTo("${HOST} costs $5 or $$5");
        assertThat(errors).isEmpty();
    }

    @Test
    void valuesAreNotInterpolatedAgain() {
        assertThat(new Interpolator(Map.of("A", "${B}")::get).interpolate("${A}", errors)).isEqualTo("${B}");
        assertThat(run("${DOLLAR}{HOST}")).isEqualTo("${HOST}");
    }

    @Test
    void eachUnsetVariableIsAnError() {
        run("${A}-${B:-b}-${C}");

        assertThat(errors).containsExactly(
                "environment variable A is not set; export it or write ${A:-default}",
                "environment variable C is not set; export it or write ${C:-default}");
    }

    @Test
    void malformedReferencesAreErrors() {
        run("${} ${a-b} ${OPEN");

        assertThat(errors).hasSize(3);
        assertThat(errors.get(0)).startsWith("'${}' is not a variable reference");
        assertThat(errors.get(1)).startsWith("'${a-b}' is not a variable reference");
        assertThat(errors.get(2)).startsWith("'${' has no closing '}'");
    }

    @TempDir
    Path dir;

    private String file(String name, String content) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        return f.toString();
    }

    @Test
    void fileReferencesAreReplacedByTheFileWithoutTrailingLineBreaks() throws IOException {
        String lf = file("lf", "pw-one\n");
        String crlf = file("crlf", "pw-two\r\n\n");
        String inner = file("inner", " a\nb \n");

        assertThat(run("postgres://app:${file:" + lf + "}@${HOST}/db")).isEqualTo("postgres://app:pw-one@db/db");
        assertThat(run("${file:" + crlf + "}|${file:" + inner + "}")).isEqualTo("pw-two| a\nb ");
        assertThat(errors).isEmpty();
    }

    @Test
    void unreadableFilesAreErrorsNamingTheFile() throws IOException {
        String missing = dir.resolve("missing").toString();
        String big = file("big", "x".repeat(SecretFiles.MAX_BYTES + 1));

        run("${file:" + missing + "} ${file:} ${file:" + dir + "} ${file:" + big + "}");

        assertThat(errors).containsExactly(
                "secret file " + missing + " does not exist",
                "'${file:}' names no file; write ${file:/run/secrets/NAME}",
                "secret file " + dir + " is a directory; name the file itself",
                "secret file " + big + " is larger than 65536 bytes; it should hold just the secret");
    }

    @Test
    void remembersFileContentsAndVariablesInSecretKeysAsSecrets() throws IOException {
        String pw = file("pw", "from-a-file\n");
        Interpolator secrets = new Interpolator(Map.of("PW", "from-env-pw", "HOST", "db.example")::get);
        Location at = Location.UNKNOWN;
        Node.MapNode config = new Node.MapNode(Map.of(
                "dsn", new Node.ScalarNode("postgres://app:${file:" + pw + "}@${HOST}/db", at),
                "nats_password", new Node.ScalarNode("${PW}", at),
                "url", new Node.ScalarNode("nats://${HOST}", at)), Map.of(), at);

        secrets.apply(config, "spec", new Reporter(new ArrayList<>(), null, Map.of()));

        assertThat(secrets.secrets()).containsExactlyInAnyOrder("from-a-file", "from-env-pw");
    }
}
