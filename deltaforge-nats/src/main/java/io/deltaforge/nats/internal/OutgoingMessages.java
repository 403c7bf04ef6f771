package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Lsn;
import io.deltaforge.spi.Message;
import io.nats.client.impl.Headers;
import io.nats.client.support.NatsJetStreamConstants;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The message that goes out for one event: its subject and headers, or its dead-letter record when it is too
 * big for NATS.
 *
 * <p>Threads: called by the sending thread (the engine sends one batch at a time).
 */
final class OutgoingMessages {
    private static final Logger log = LoggerFactory.getLogger(OutgoingMessages.class);
    static final String CONTENT_TYPE = "Content-Type";
    /** No atomic batch headers. */
    static final String[] NO_BATCH = {};
    /** The headers a message sets itself, which replace a configured header of the same name. */
    private static final Set<String> MESSAGE_KEYS = Set.of(NatsJetStreamConstants.MSG_ID_HDR,
            AtomicBatches.BATCH_ID, AtomicBatches.BATCH_SEQUENCE, AtomicBatches.BATCH_COMMIT,
            AtomicBatches.PART_HEADER, AtomicBatches.LAST_PART_HEADER);

    private final NatsSinkSettings settings;
    private final String name;
    private final DeadLetters deadLetters;
    private final SizeLimits limits;
    /** Replaced whole and never mutated, so threads that race on it at most build it twice. */
    private volatile @Nullable HeaderTemplate streamTemplate;
    /** Touched by the sending thread only. */
    private @Nullable Origin lastOrigin;
    /** Touched by the sending thread only. */
    private @Nullable TransactionHeaders transactionHeaders;
    /** The last subject an envelope chose that passed {@link #checkRouted}; touched by the sending thread only. */
    private @Nullable String lastRoutedSubject;

    OutgoingMessages(NatsSinkSettings settings, String name, DeadLetters deadLetters, SizeLimits limits) {
        this.settings = settings;
        this.name = name;
        this.deadLetters = deadLetters;
        this.limits = limits;
    }

    /** One message as it goes out: dead-lettered already when the event was too big. */
    record Outgoing(ChangeEvent event, String subject, Headers headers, byte[] body, int size) {
    }

    /**
     * The message of one event with all its headers ({@code batch}: an atomic batch's, as key, value, key,
     * value...; {@link #NO_BATCH} for none), or its dead-letter record when it is too big for NATS; null when
     * it is too big and there is no dead-letter subject (the batch has then failed).
     */
    @Nullable Outgoing build(ChangeEvent event, Message message, String[] batch, CompletableFuture<Void> acks) {
        String subject = message.subject();
        if (subject == null) {
            subject = settings.subject().render(event);
        } else if (!checkRouted(subject, event, acks)) {
            return null;
        }
        // The dead-letter subject may belong to another stream: no stream expectation there.
        Headers headers = headersFor(message, event, !subject.equals(settings.deadLetterSubject()), batch);
        byte[] body = message.payload();
        int size = body.length + headers.serializedLength();
        long limit = limits.perMessage();
        if (limit > 0 && size > limit) {
            String dlq = deadLetters.subject();
            String what = "event " + event.id() + " of " + event.table() + " (op " + event.op().code() + ", LSN "
                    + event.position().lsn() + ", commit LSN " + event.position().commitLsn() + ") is " + size
                    + " bytes with headers, more than the " + limit + " bytes NATS accepts (" + limits.text() + ")";
            if (dlq == null) {
                acks.completeExceptionally(new DeltaforgeException(name + ": " + what + "; raise max_payload"
                        + " (nats-server) or the stream's max_msg_size, or set dead_letter_subject to record such"
                        + " events instead of stopping"));
                return null;
            }
            log.warn("{}: {}; publishing its metadata to dead_letter_subject '{}' instead", name, what, dlq);
            DeadLetters.Replacement replacement = deadLetters.replace(event, message.id(), subject, size, limit);
            subject = dlq;
            headers = replacement.headers();
            headers.put(StoredEvents.ORIGIN_HEADER, origin(event));
            putAll(headers, batch);
            body = replacement.body();
            size = body.length + headers.serializedLength();
        }
        return new Outgoing(event, subject, headers, body, size);
    }

    /**
     * Checks a subject the envelope chose, once per distinct subject in a row: the connection leaves subjects
     * to us ({@link NatsConnector}), the sink's own are valid by construction, and an envelope's follow the
     * rows (an outbox's {@code aggregatetype}), so one the server cannot take must stop the pipeline here
     * with its name rather than reach the socket. Fails {@code acks} and returns false for a bad one.
     */
    private boolean checkRouted(String subject, ChangeEvent event, CompletableFuture<Void> acks) {
        if (subject.equals(lastRoutedSubject)) {
            return true;
        }
        String why = subject.isBlank() ? "'" + subject + "' is empty" : Subjects.problemWithPublishSubject(subject);
        if (!why.isEmpty()) {
            acks.completeExceptionally(new DeltaforgeException(name + ": cannot publish event " + event.id() + " of "
                    + event.table() + " (LSN " + event.position().lsn() + ", commit LSN "
                    + event.position().commitLsn() + "): the subject its envelope gave, " + why
                    + "; fix the envelope's subject or the values it is made from, and restart: the slot still"
                    + " holds this event"));
            return false;
        }
        lastRoutedSubject = subject;
        return true;
    }

    /**
     * The headers of one publish: the configured ones, the message's own, its content type, the origin that
     * {@link StoredEvents} reads, and the Nats-Msg-Id that JetStream de-duplicates by, plus
     * Nats-Expected-Stream so that a subject captured by another stream is refused rather than stored there.
     */
    private Headers headersFor(Message message, ChangeEvent event, boolean expectStream, String[] batch) {
        if (expectStream && message.headers().isEmpty()) {
            return new WireHeaders(transactionHeaders(message, event), message.id(), batch);
        }
        Headers headers = commonHeaders(message, expectStream);
        headers.put(StoredEvents.ORIGIN_HEADER, origin(event));
        headers.put(NatsJetStreamConstants.MSG_ID_HDR, message.id());
        putAll(headers, batch);
        return headers;
    }

    /**
     * The headers every message of the event's transaction shares, serialised once: jnats' validation per put
     * and its copy of every mutable Headers it is given showed in profiles. The part every message of one
     * content type shares is validated once per content type.
     */
    private WireHeaders.Shared transactionHeaders(Message message, ChangeEvent event) {
        HeaderTemplate t = streamTemplate;
        if (t == null || !t.contentType.equals(message.contentType())) {
            t = new HeaderTemplate(message.contentType(), new Headers(commonHeaders(message, true), true));
            streamTemplate = t;
        }
        String origin = origin(event);
        TransactionHeaders tx = transactionHeaders;
        if (tx == null || tx.template() != t || !tx.origin().equals(origin)) {
            Headers withOrigin = new Headers(t.headers);
            withOrigin.put(StoredEvents.ORIGIN_HEADER, origin);
            tx = new TransactionHeaders(t, origin, new WireHeaders.Shared(withOrigin, MESSAGE_KEYS));
            transactionHeaders = tx;
        }
        return tx.shared();
    }

    private static void putAll(Headers headers, String[] keysAndValues) {
        for (int i = 0; i < keysAndValues.length; i += 2) {
            headers.put(keysAndValues[i], keysAndValues[i + 1]);
        }
    }

    private Headers commonHeaders(Message message, boolean expectStream) {
        Headers headers = new Headers();
        if (!settings.headers().isEmpty()) {
            settings.headers().forEach(headers::put);
        }
        if (!message.headers().isEmpty()) {
            message.headers().forEach(headers::put);
        }
        headers.put(CONTENT_TYPE, message.contentType());
        if (expectStream) {
            headers.put(NatsJetStreamConstants.EXPECTED_STREAM_HDR, settings.stream());
        }
        return headers;
    }

    /** The origin header's value, formatted once per transaction rather than per event. */
    private String origin(ChangeEvent event) {
        Origin last = lastOrigin;
        if (last == null || !last.commitLsn.equals(event.position().commitLsn())
                || !last.sourceId.equals(event.sourceId())) {
            last = new Origin(event.sourceId(), event.position().commitLsn(), StoredEvents.origin(event));
            lastOrigin = last;
        }
        return last.value;
    }

    private record Origin(String sourceId, Lsn commitLsn, String value) {
    }

    /** Read-only headers shared by the messages of one content type; only ever copied. */
    private record HeaderTemplate(String contentType, Headers headers) {
    }

    /** A template with the origin of one transaction, as its messages share it. */
    private record TransactionHeaders(HeaderTemplate template, String origin, WireHeaders.Shared shared) {
    }
}
