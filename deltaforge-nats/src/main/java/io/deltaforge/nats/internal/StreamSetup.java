package io.deltaforge.nats.internal;

import io.deltaforge.api.DeltaforgeException;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.PersistMode;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sink's stream: that it exists (created when configured to), captures every subject the template can
 * produce, matches the configured stream settings, and has a duplicate window long enough for replays. An
 * existing stream is never changed.
 *
 * <p>Every method throws {@link DeltaforgeException} when the stream is unusable and {@link IOException}
 * when JetStream did not answer.
 */
final class StreamSetup {
    private static final Logger log = LoggerFactory.getLogger(StreamSetup.class);

    /** What to do about a missing stream. */
    enum Mode {
        /** Create it when {@code create_stream} is set; at start. */
        CREATE_IF_ALLOWED,
        /** Change nothing; note what the first start would create. For a connection check. */
        REPORT_ONLY
    }

    private final NatsSinkSettings settings;
    private final String name;

    StreamSetup(NatsSinkSettings settings, String name) {
        this.settings = settings;
        this.name = name;
    }

    /**
     * Checks the stream fully: exists (or is created, by {@code mode}), captures the subject, matches
     * stream_config, and logs its duplicate window.
     *
     * @param allowAtomic create the stream with atomic publish allowed (atomic transactions wanted and the server
     *                    has them)
     * @return the stream's configuration; null when it does not exist yet, {@code create_stream} is set and
     *         {@code mode} is report-only (then {@link #creationNote()} says so)
     */
    @Nullable StreamConfiguration check(JetStreamManagement jsm, Mode mode, boolean allowAtomic) throws IOException {
        StreamInfo info = find(jsm);
        if (info == null) {
            if (!settings.createStream()) {
                throw missing();
            }
            if (mode == Mode.REPORT_ONLY) {
                return null;
            }
            info = create(jsm, allowAtomic);
        }
        StreamConfiguration config = info.getConfiguration();
        checkCaptures(config);
        compareWithConfigured(config);
        logDuplicateWindow(config);
        return config;
    }

    /** For a check that found the stream missing: what the first start will do. */
    String creationNote() {
        return name + ": stream '" + settings.stream() + "' does not exist yet; the first start creates it"
                + " (create_stream: true)";
    }

    /**
     * After JetStream stopped answering: that the stream still exists and captures the subject. Creates
     * nothing, so that a stream deleted while the pipeline runs fails it rather than being recreated empty.
     */
    StreamConfiguration recheck(JetStreamManagement jsm) throws IOException {
        StreamInfo info = find(jsm);
        if (info == null) {
            throw missing();
        }
        checkCaptures(info.getConfiguration());
        return info.getConfiguration();
    }

    private @Nullable StreamInfo find(JetStreamManagement jsm) throws IOException {
        try {
            return jsm.getStreamInfo(settings.stream());
        } catch (JetStreamApiException e) {
            if (Failures.streamNotFound(e)) {
                return null;
            }
            if (e.getErrorCode() == 503) {
                throw new IOException("JetStream is not available: " + e.getErrorDescription(), e);
            }
            throw new DeltaforgeException(name + ": cannot read stream '" + settings.stream() + "': "
                    + e.getErrorDescription() + " (err_code " + e.getApiErrorCode() + ")", e);
        }
    }

    private DeltaforgeException missing() {
        return new DeltaforgeException(name + ": stream '" + settings.stream() + "' does not exist; create it"
                + " with subjects covering '" + wanted() + "' (e.g. nats stream add " + settings.stream()
                + " --subjects '" + suggestedFilter() + "') or set create_stream: true");
    }

    private void checkCaptures(StreamConfiguration config) {
        List<String> subjects = config.getSubjects();
        String pattern = wanted();
        if (subjects.stream().noneMatch(f -> Subjects.covers(f, pattern))) {
            throw new DeltaforgeException(name + ": stream '" + settings.stream() + "' does not capture subject"
                    + (settings.subject().hasPlaceholders() ? " template '" + settings.subject() + "' (every subject"
                    + " matching '" + pattern + "' must be captured by one of the stream's subjects)" : " '" + pattern + "'")
                    + "; its subjects are " + subjects + ". Add a covering subject (e.g. nats stream edit "
                    + settings.stream() + " --subjects '" + suggestedFilter() + "') or set subject to one the stream"
                    + " captures");
        }
    }

    /**
     * The sink asks the stream what it holds before every resend, so no outage depends on the window; it
     * only has to outlast a publish still on its way when its batch is resent, which is bounded by the
     * batch timeout (twice it, for the resend's own time).
     */
    private void logDuplicateWindow(StreamConfiguration config) {
        Duration window = config.getDuplicateWindow();
        Duration needed = settings.batchTimeout().multipliedBy(2);
        if (window == null || window.compareTo(needed) < 0) {
            log.warn("{}: stream '{}' has a duplicate window of {}, shorter than twice batch_timeout_secs ({} s);"
                            + " a message still on its way when its batch is resent may be stored twice. Raise it"
                            + " (nats stream edit {} --dupe-window {}s) or lower batch_timeout_secs",
                    name, settings.stream(), window, needed.toSeconds(), settings.stream(), needed.toSeconds());
        } else {
            log.info("{}: stream '{}' captures '{}' (subjects {}), duplicate window {}", name, settings.stream(),
                    settings.subject(), config.getSubjects(), window);
        }
    }

    /** The subjects the template can produce, as a pattern with {@code *} for placeholder tokens. */
    private String wanted() {
        return settings.subject().wildcard();
    }

    /** A created stream's subjects: the template's, and the transaction subject unless they cover it. */
    private List<String> defaultSubjects() {
        String tx = settings.transactionSubject();
        return Subjects.covers(wanted(), tx) ? List.of(wanted()) : List.of(wanted(), tx);
    }

    /**
     * Null when the stream captures the transaction subject, else why transaction markers would be refused. Only
     * envelopes that write markers need it ({@code debezium} with {@code provide_transaction_metadata}), which the
     * sink cannot tell before one comes.
     */
    @Nullable String transactionSubjectProblem(StreamConfiguration config) {
        String tx = settings.transactionSubject();
        if (config.getSubjects().stream().anyMatch(f -> Subjects.covers(f, tx))) {
            return null;
        }
        return "stream '" + settings.stream() + "' does not capture transaction_subject '" + tx + "' (its subjects are "
                + config.getSubjects() + "), so transaction markers (the debezium envelope's BEGIN and END events with"
                + " provide_transaction_metadata) cannot be published; add the subject to the stream (e.g. nats stream"
                + " edit " + settings.stream() + " --subjects ...) or set transaction_subject to one it captures";
    }

    /**
     * Null unless the stream lets nats-server acknowledge a message before writing it ({@code persist_mode: async}).
     * The sink cannot tell such an acknowledgement from a written one, and the slot moves on after it: a hard kill of
     * nats-server then loses events for good. Not refused, as a memory stream is not: the stream is the user's.
     */
    @Nullable String durabilityProblem(StreamConfiguration config) {
        if (config.getPersistMode() != PersistMode.Async) {
            return null;
        }
        return "stream '" + settings.stream() + "' uses persist_mode: async, so nats-server may acknowledge a message"
                + " before it writes it, and a hard kill of nats-server can then lose events the replication slot was"
                + " already acknowledged past; for no loss, use a stream with persist_mode: default (nats-server cannot"
                + " change it on an existing stream)";
    }

    private String suggestedFilter() {
        String subject = wanted();
        int dot = subject.indexOf('.');
        return dot < 0 ? subject : subject.substring(0, dot) + ".>";
    }

    /** The configuration the first start creates the stream with (create_stream: true). */
    StreamConfiguration planned(boolean allowAtomic) {
        NatsSinkSettings.StreamSpec spec = settings.streamSpec();
        List<String> subjects = spec.subjects().isEmpty() ? defaultSubjects() : spec.subjects();
        StreamConfiguration.Builder b = StreamConfiguration.builder()
                .name(settings.stream())
                .subjects(subjects)
                .storageType("memory".equals(spec.storage()) ? StorageType.Memory : StorageType.File)
                .replicas(spec.replicas() == null ? 1 : spec.replicas())
                .duplicateWindow(spec.duplicateWindow() == null ? settings.expectedRestart() : spec.duplicateWindow());
        if (spec.maxAge() != null) {
            b.maxAge(spec.maxAge());
        }
        if (allowAtomic) {
            b.allowAtomicPublish(true);
        }
        return b.build();
    }

    private StreamInfo create(JetStreamManagement jsm, boolean allowAtomic) throws IOException {
        StreamConfiguration planned = planned(allowAtomic);
        List<String> subjects = planned.getSubjects();
        try {
            StreamInfo info = jsm.addStream(planned);
            log.info("{}: created stream '{}' with subjects {}, {} storage, {} replica(s), duplicate window {}, max age {},"
                            + " atomic publish {}", name, settings.stream(), subjects,
                    info.getConfiguration().getStorageType(), info.getConfiguration().getReplicas(),
                    info.getConfiguration().getDuplicateWindow(), info.getConfiguration().getMaxAge(),
                    info.getConfiguration().getAllowAtomicPublish() ? "allowed" : "not allowed");
            return info;
        } catch (JetStreamApiException e) {
            if (e.getErrorCode() == 503) {
                throw new IOException("JetStream is not available: " + e.getErrorDescription(), e);
            }
            throw new DeltaforgeException(name + ": cannot create stream '" + settings.stream() + "' with subjects "
                    + subjects + ": " + e.getErrorDescription() + " (err_code " + e.getApiErrorCode()
                    + "); another stream may already capture these subjects, or the account may lack JetStream", e);
        }
    }

    /** Reports every configured stream setting that the existing stream does not have; never changes it. */
    private void compareWithConfigured(StreamConfiguration actual) {
        if (!settings.createStream()) {
            return;
        }
        NatsSinkSettings.StreamSpec spec = settings.streamSpec();
        List<String> diffs = new ArrayList<>();
        if (!spec.subjects().isEmpty() && !new HashSet<>(spec.subjects()).equals(new HashSet<>(actual.getSubjects()))) {
            diffs.add("subjects " + actual.getSubjects() + " (configured " + spec.subjects() + ")");
        }
        if (spec.storage() != null && !actual.getStorageType().toString().equalsIgnoreCase(spec.storage())) {
            diffs.add("storage " + actual.getStorageType().toString().toLowerCase(Locale.ROOT)
                    + " (configured " + spec.storage() + ")");
        }
        if (spec.replicas() != null && actual.getReplicas() != spec.replicas()) {
            diffs.add("replicas " + actual.getReplicas() + " (configured " + spec.replicas() + ")");
        }
        if (spec.duplicateWindow() != null && !spec.duplicateWindow().equals(actual.getDuplicateWindow())) {
            diffs.add("duplicate_window " + actual.getDuplicateWindow().toSeconds() + " s (configured "
                    + spec.duplicateWindow().toSeconds() + " s)");
        }
        if (spec.maxAge() != null && !spec.maxAge().equals(actual.getMaxAge())) {
            diffs.add("max_age " + actual.getMaxAge().toSeconds() + " s (configured " + spec.maxAge().toSeconds() + " s)");
        }
        if (!diffs.isEmpty()) {
            throw new DeltaforgeException(name + ": stream '" + settings.stream() + "' exists with " + String.join(", ", diffs)
                    + "; DeltaForge never changes an existing stream: edit the stream (nats stream edit "
                    + settings.stream() + ") or make stream_config match it");
        }
    }
}
