package io.deltaforge.nats.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SubjectsTest {
    @Test
    void literalFilterMatchesOnlyTheSameSubject() {
        assertThat(Subjects.matches("users.events", "users.events")).isTrue();
        assertThat(Subjects.matches("users.events", "users.event")).isFalse();
        assertThat(Subjects.matches("users.events", "users.events.x")).isFalse();
        assertThat(Subjects.matches("users.events.x", "users.events")).isFalse();
        assertThat(Subjects.matches("users", "users.events")).isFalse();
    }

    @Test
    void starMatchesExactlyOneToken() {
        assertThat(Subjects.matches("users.*", "users.events")).isTrue();
        assertThat(Subjects.matches("*.events", "users.events")).isTrue();
        assertThat(Subjects.matches("users.*", "users")).isFalse();
        assertThat(Subjects.matches("users.*", "users.events.created")).isFalse();
        assertThat(Subjects.matches("*", "users")).isTrue();
        assertThat(Subjects.matches("users.*.created", "users.events.created")).isTrue();
    }

    @Test
    void greaterThanMatchesOneOrMoreTrailingTokens() {
        assertThat(Subjects.matches("users.>", "users.events")).isTrue();
        assertThat(Subjects.matches("users.>", "users.events.created")).isTrue();
        assertThat(Subjects.matches("users.>", "users")).isFalse();
        assertThat(Subjects.matches(">", "users.events")).isTrue();
        assertThat(Subjects.matches("orders.>", "users.events")).isFalse();
        assertThat(Subjects.matches("*.>", "users.events")).isTrue();
        assertThat(Subjects.matches("*.>", "users")).isFalse();
    }

    @Test
    void greaterThanCountsOnlyAsTheLastToken() {
        assertThat(Subjects.matches("users.>.created", "users.events.created")).isFalse();
    }

    @Test
    void wildcardCharactersInsideATokenAreLiteral() {
        assertThat(Subjects.matches("users.ev*", "users.events")).isFalse();
        assertThat(Subjects.matches("users.ev*", "users.ev*")).isTrue();
    }

    @Test
    void publishSubjectMustBeLiteralNonEmptyTokens() {
        assertThat(Subjects.problemWithPublishSubject("users.events")).isEmpty();
        assertThat(Subjects.problemWithPublishSubject("users.*")).contains("wildcard");
        assertThat(Subjects.problemWithPublishSubject("users.>")).contains("wildcard");
        assertThat(Subjects.problemWithPublishSubject("users..events")).contains("empty token");
        assertThat(Subjects.problemWithPublishSubject("users events")).contains("whitespace");
        assertThat(Subjects.problemWithPublishSubject("")).contains("required");
    }

    @Test
    void streamNameRejectsDotsWildcardsAndSpaces() {
        assertThat(Subjects.problemWithStreamName("USERS")).isEmpty();
        assertThat(Subjects.problemWithStreamName("US.ERS")).contains("not a valid stream name");
        assertThat(Subjects.problemWithStreamName("US ERS")).contains("not a valid stream name");
        assertThat(Subjects.problemWithStreamName("US*")).contains("not a valid stream name");
    }

    @Test
    void redactHidesUserInfoInUrls() {
        assertThat(NatsSinkSettings.redact("nats://bob:secret@host:4222")).isEqualTo("nats://***@host:4222");
        assertThat(NatsSinkSettings.redact("nats://tok3n@host:4222")).isEqualTo("nats://***@host:4222");
        assertThat(NatsSinkSettings.redact("nats://host:4222")).isEqualTo("nats://host:4222");
    }
}
