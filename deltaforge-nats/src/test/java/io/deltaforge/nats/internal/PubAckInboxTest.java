package io.deltaforge.nats.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import io.nats.client.impl.Headers;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** What the inbox does when reading a reply or adding a publish fails: every publish is still answered. */
class PubAckInboxTest {
    /** The reply subjects published to, and the pending limits the reply dispatcher was given. */
    private final List<String> replySubjects = new ArrayList<>();
    private final List<Long> pendingLimits = new ArrayList<>();
    private final Connection connection = connection();

    @Test
    void aReplyThatCannotBeReadFailsItsPublish() {
        PubAckInbox inbox = PubAckInbox.open(connection, 4, Duration.ofSeconds(5));
        Answer publish = new Answer();
        assertThat(inbox.publish("orders", new Headers(), new byte[1], publish, System.nanoTime())).isTrue();

        inbox.onReply(unreadable(replySubjects.get(0)));

        assertThat(publish.outcome().failure()).isInstanceOf(IllegalStateException.class).hasMessage("unreadable");
    }

    @Test
    void aPublishWithoutAReplySlotIsAnsweredWithTheFailure() {
        // One place gives two slots; a third publish waiting breaks the window's promise.
        PubAckInbox inbox = PubAckInbox.open(connection, 1, Duration.ofSeconds(5));
        assertThat(inbox.publish("orders", new Headers(), new byte[1], new Answer(), System.nanoTime())).isTrue();
        assertThat(inbox.publish("orders", new Headers(), new byte[1], new Answer(), System.nanoTime())).isTrue();
        Answer third = new Answer();

        assertThat(inbox.publish("orders", new Headers(), new byte[1], third, System.nanoTime())).isFalse();

        assertThat(third.outcome().failure()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("reply slots");
    }

    @Test
    void theReplyDispatcherDropsNothing() {
        PubAckInbox.open(connection, 4, Duration.ofSeconds(5));

        assertThat(pendingLimits).containsExactly(-1L, -1L);
    }

    private static final class Answer extends PendingPublish {
        PubAcks.@Nullable Outcome outcome;

        PubAcks.Outcome outcome() {
            assertThat(outcome).as("the publish was answered").isNotNull();
            return java.util.Objects.requireNonNull(outcome);
        }

        @Override
        protected void onAnswer(PubAcks.Outcome outcome) {
            this.outcome = outcome;
        }
    }

    /** Just enough of a connection: an inbox name, a dispatcher, publishes recorded. */
    private Connection connection() {
        Dispatcher dispatcher = (Dispatcher) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {Dispatcher.class}, (proxy, method, args) -> {
                    if (method.getName().equals("setPendingLimits")) {
                        pendingLimits.add((Long) args[0]);
                        pendingLimits.add((Long) args[1]);
                    }
                    return method.getReturnType().isInstance(proxy) ? proxy : null;
                });
        return (Connection) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Connection.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "createInbox" -> "_INBOX.test";
                    case "createDispatcher" -> dispatcher;
                    case "publish" -> {
                        replySubjects.add((String) args[1]);
                        yield null;
                    }
                    default -> null;
                });
    }

    /** A reply on {@code subject} whose reading throws. */
    private static Message unreadable(String subject) {
        return (Message) Proxy.newProxyInstance(PubAckInboxTest.class.getClassLoader(), new Class<?>[] {Message.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getSubject" -> subject;
                    case "getData" -> "{}".getBytes(StandardCharsets.US_ASCII);
                    case "isStatusMessage" -> throw new IllegalStateException("unreadable");
                    default -> null;
                });
    }
}
