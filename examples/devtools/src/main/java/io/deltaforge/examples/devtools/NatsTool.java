package io.deltaforge.examples.devtools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.format.EventDeserializationException;
import io.cloudevents.core.provider.EventFormatProvider;
import io.cloudevents.jackson.JsonFormat;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.DeliverPolicy;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;

/**
 * What dev.sh needs from a NATS client, so that the demo depends on nothing but Java:
 * {@code stream-add NAME SUBJECT...} and {@code sub SUBJECT [--stream NAME] [--expect N] [--wait SECONDS]}.
 *
 * <p>{@code sub} reads a stream from its first message, prints each message with its {@code Nats-Msg-Id}
 * and validates it with the CloudEvents SDK's own JSON reader, independently of DeltaForge's code. It
 * exits 1 if a message is not a valid CloudEvent or fewer than {@code --expect} messages arrived.
 */
public final class NatsTool {
    private NatsTool() {
    }

    public static void main(String[] args) throws Exception {
        String url = System.getenv().getOrDefault("NATS_URL", "nats://127.0.0.1:4222");
        if (args.length < 2) {
            System.err.println("usage: stream-add NAME SUBJECT... | sub SUBJECT [--stream NAME] [--expect N] [--wait SECONDS]");
            System.exit(2);
        }
        try (Connection nc = Nats.connect(url)) {
            int code = switch (args[0]) {
                case "stream-add" -> streamAdd(nc, args[1], List.of(args).subList(2, args.length));
                case "sub" -> sub(nc, args, System.out);
                default -> {
                    System.err.println("unknown command " + args[0]);
                    yield 2;
                }
            };
            System.exit(code);
        }
    }

    private static int streamAdd(Connection nc, String name, List<String> subjects)
            throws IOException, JetStreamApiException {
        JetStreamManagement jsm = nc.jetStreamManagement();
        if (jsm.getStreamNames().contains(name)) {
            System.out.println("stream " + name + " exists");
            return 0;
        }
        jsm.addStream(StreamConfiguration.builder().name(name).subjects(subjects).storageType(StorageType.File)
                .duplicateWindow(Duration.ofMinutes(10)).build());
        System.out.println("stream " + name + " created for " + subjects);
        return 0;
    }

    private static int sub(Connection nc, String[] args, PrintStream out) throws Exception {
        String subject = args[1];
        int expect = 0;
        long waitSeconds = 10;
        String stream = null;
        for (int i = 2; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--expect" -> expect = Integer.parseInt(args[i + 1]);
                case "--wait" -> waitSeconds = Long.parseLong(args[i + 1]);
                case "--stream" -> stream = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        PullSubscribeOptions options = PullSubscribeOptions.builder().stream(stream)
                .configuration(ConsumerConfiguration.builder().deliverPolicy(DeliverPolicy.All).build()).build();
        JetStreamSubscription sub = nc.jetStream().subscribe(subject, options);
        ObjectMapper pretty = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        var format = EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE);
        int seen = 0;
        int invalid = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(waitSeconds).toNanos();
        while (System.nanoTime() < deadline && (expect == 0 || seen < expect)) {
            for (Message m : sub.fetch(100, Duration.ofMillis(500))) {
                m.ack();
                seen++;
                String msgId = m.getHeaders() == null ? null : m.getHeaders().getFirst("Nats-Msg-Id");
                out.println("--- " + m.getSubject() + "  Nats-Msg-Id: " + msgId);
                out.println(pretty.writeValueAsString(pretty.readTree(m.getData())));
                try {
                    CloudEvent ce = format.deserialize(m.getData());
                    if (!ce.getId().equals(msgId)) {
                        invalid++;
                        out.println("!! CloudEvent id " + ce.getId() + " differs from Nats-Msg-Id " + msgId);
                    }
                } catch (EventDeserializationException | IllegalStateException e) {
                    invalid++;
                    out.println("!! not a valid CloudEvent: " + e.getMessage());
                }
            }
        }
        out.println(seen + " message(s), " + (seen - invalid) + " valid CloudEvent(s)"
                + (invalid == 0 ? "" : ", " + invalid + " INVALID"));
        out.flush();
        return invalid > 0 || seen < expect ? 1 : 0;
    }
}
