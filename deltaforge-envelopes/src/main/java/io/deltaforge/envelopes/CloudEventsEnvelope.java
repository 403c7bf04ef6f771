package io.deltaforge.envelopes;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.SerializedString;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.core.data.BytesCloudEventData;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ConfigException;
import io.deltaforge.api.ConfigException.Problem;
import io.deltaforge.api.Op;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.envelopes.internal.JsonOutput;
import io.deltaforge.envelopes.internal.PercentEncoding;
import io.deltaforge.envelopes.internal.Rfc3339;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Message;
import java.io.IOException;
import java.net.URI;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Encodes change events as <a href="https://cloudevents.io">CloudEvents</a> 1.0, in structured mode (the
 * whole event as JSON in the body, {@code application/cloudevents+json}) or binary mode (attributes as
 * {@code ce-*} headers per the CloudEvents NATS protocol binding, the data as the body).
 *
 * <p>An insert into {@code public.users} captured by source {@code users-postgres}, with type prefix
 * {@code com.acme.users}, becomes (structured; fields in this order):
 * <pre>{@code
 * {"specversion":"1.0","id":"<event id>","source":"deltaforge/users-postgres/public.users",
 *  "type":"com.acme.users.created","time":"2025-01-15T10:30:00.000Z","datacontenttype":"application/json",
 *  "subject":"public.users","txid":"740","lsn":"0/16B3748","sequence":"00000000016B3790-0000000000",
 *  "data":{"before":null,"after":{"id":1,"name":"Alice"},"op":"c"}}
 * }</pre>
 *
 * <ul>
 *   <li>{@code id}: {@link ChangeEvent#id()}, so a replay carries the same id.
 *   <li>{@code source}: {@code deltaforge/<source id>/<schema>.<table>}, each part percent-encoded as a URI
 *       path segment when it holds characters a URI does not allow.
 *   <li>{@code type}: {@code <prefix>.created|updated|deleted|snapshot|truncated|message} for ops
 *       {@code c u d r t m}.
 *   <li>{@code time}: the commit time, RFC 3339 in UTC with at least millisecond digits (six or nine when
 *       the time has them).
 *   <li>{@code subject}: {@code <schema>.<table>}; {@code data}: before, after (each a row object or
 *       null, always present) and the op code.
 *   <li>Extensions, all strings: {@code txid} (the transaction id in decimal), {@code lsn} (the change's
 *       LSN as PostgreSQL writes it), {@code sequence} (see below), {@code tenant} when set, then any
 *       extensions given to the builder, in the order given.
 * </ul>
 *
 * <p>{@code sequence} follows the CloudEvents sequence extension: a string whose lexicographic order is
 * the capture order. It is the commit LSN as 16 upper-case hex digits, a dash, and the event's index in
 * its transaction as 10 zero-padded decimal digits ({@code 00000000016B3790-0000000003}), so it orders by
 * commit, then by position inside the transaction, for any LSN and any index.
 *
 * <p>Row values: numbers as JSON numbers (decimals in plain notation with every digit), json/jsonb
 * embedded as JSON, arrays as arrays, dates and times as the source's text.
 *
 * <pre>{@code
 * Envelope plain = CloudEventsEnvelope.withTypePrefix("com.acme.users");
 * Envelope tagged = CloudEventsEnvelope.builder()
 *         .typePrefix("com.acme.users")
 *         .mode(CloudEventsEnvelope.Mode.BINARY)
 *         .tenant("acme")
 *         .build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class CloudEventsEnvelope implements Envelope {
    /** The media type of a structured-mode message. */
    public static final String STRUCTURED_CONTENT_TYPE = "application/cloudevents+json";
    /** The media type of the {@code data}, and of a binary-mode message body. */
    public static final String DATA_CONTENT_TYPE = "application/json";

    private static final String SPEC_VERSION = "1.0";
    private static final String HEADER_PREFIX = "ce-";
    private static final Pattern EXTENSION_NAME = Pattern.compile("[a-z0-9]+");
    /** Attribute names that extensions may not take: the spec's own and the ones this envelope sets. */
    private static final Set<String> RESERVED = Set.of("specversion", "id", "source", "type", "time",
            "datacontenttype", "dataschema", "subject", "data", "txid", "lsn", "sequence", "tenant");

    private static final SerializedString F_SPECVERSION = new SerializedString("specversion");
    private static final SerializedString F_ID = new SerializedString("id");
    private static final SerializedString F_SOURCE = new SerializedString("source");
    private static final SerializedString F_TYPE = new SerializedString("type");
    private static final SerializedString F_TIME = new SerializedString("time");
    private static final SerializedString F_DATACONTENTTYPE = new SerializedString("datacontenttype");
    private static final SerializedString F_SUBJECT = new SerializedString("subject");
    private static final SerializedString F_TXID = new SerializedString("txid");
    private static final SerializedString F_LSN = new SerializedString("lsn");
    private static final SerializedString F_SEQUENCE = new SerializedString("sequence");
    private static final SerializedString F_TENANT = new SerializedString("tenant");
    private static final SerializedString F_DATA = new SerializedString("data");

    private static final JsonOutput.Body<CloudEventsEnvelope> STRUCTURED = CloudEventsEnvelope::writeStructured;
    private static final JsonOutput.Body<CloudEventsEnvelope> DATA_ONLY = (g, e, self) -> writeData(g, e);

    /** How the event travels: all in the body, or attributes in headers. */
    public enum Mode {
        /** The JSON event format in the body; no headers. The default. */
        STRUCTURED,
        /** Attributes as {@code ce-<name>} headers (percent-encoded), the data JSON as the body. */
        BINARY
    }

    private final String typePrefix;
    private final Mode mode;
    private final @Nullable String tenant;
    private final Map<String, String> extensions;
    /** {@code <prefix>.<verb>} for each {@link Op}, by ordinal: computed once, not per event. */
    private final String[] types;
    private final SerializedString[] extensionFields;
    private final String[] extensionValues;

    private CloudEventsEnvelope(Builder b) {
        this.typePrefix = Objects.requireNonNull(b.typePrefix, "typePrefix");
        this.mode = b.mode;
        this.tenant = b.tenant;
        this.extensions = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(b.extensions));
        this.types = new String[Op.values().length];
        for (Op op : Op.values()) {
            types[op.ordinal()] = typePrefix + '.' + verb(op);
        }
        this.extensionFields = new SerializedString[extensions.size()];
        this.extensionValues = new String[extensions.size()];
        int i = 0;
        for (Map.Entry<String, String> e : extensions.entrySet()) {
            extensionFields[i] = new SerializedString(e.getKey());
            extensionValues[i] = e.getValue();
            i++;
        }
    }

    /**
     * A structured-mode envelope with no tenant and no extra extensions.
     *
     * @param typePrefix the start of every {@code type}, e.g. {@code com.acme.users}; never null
     * @throws ConfigException when the prefix is blank, has whitespace or ends with a dot
     */
    public static CloudEventsEnvelope withTypePrefix(String typePrefix) {
        return builder().typePrefix(typePrefix).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The {@code type} attribute's verb for an op: {@code created}, {@code updated}, .... */
    public static String verb(Op op) {
        return switch (op) {
            case CREATE -> "created";
            case UPDATE -> "updated";
            case DELETE -> "deleted";
            case READ -> "snapshot";
            case TRUNCATE -> "truncated";
            case MESSAGE -> "message";
        };
    }

    public String typePrefix() {
        return typePrefix;
    }

    public Mode mode() {
        return mode;
    }

    /** The {@code tenant} extension's value; null when not set. */
    public @Nullable String tenant() {
        return tenant;
    }

    @Override
    public Message encode(ChangeEvent event) {
        if (mode == Mode.STRUCTURED) {
            return new Message(event.id(), Map.of(), STRUCTURED_CONTENT_TYPE,
                    JsonOutput.toBytes(event, this, STRUCTURED));
        }
        return new Message(event.id(), headers(event), DATA_CONTENT_TYPE, JsonOutput.toBytes(event, this, DATA_ONLY));
    }

    /**
     * The same event as a CloudEvents SDK object, with the same attributes, extensions and data as
     * {@link #encode}, for code that hands events to other SDK bindings (HTTP, Kafka). Slower than
     * {@code encode}; not meant for the pipeline's hot path.
     */
    public CloudEvent toCloudEvent(ChangeEvent event) {
        SourcePosition p = event.position();
        io.cloudevents.core.v1.CloudEventBuilder b = CloudEventBuilder.v1()
                .withId(event.id())
                .withSource(URI.create(source(event)))
                .withType(types[event.op().ordinal()])
                .withTime(OffsetDateTime.ofInstant(p.commitTime(), ZoneOffset.UTC))
                .withDataContentType(DATA_CONTENT_TYPE)
                .withSubject(event.table().toString());
        b.withExtension("txid", Long.toString(p.xid()));
        b.withExtension("lsn", p.lsn().toString());
        b.withExtension("sequence", sequence(p));
        if (tenant != null) {
            b.withExtension("tenant", tenant);
        }
        extensions.forEach(b::withExtension);
        return b.withData(BytesCloudEventData.wrap(JsonOutput.toBytes(event, this, DATA_ONLY))).build();
    }

    @Override
    public String toString() {
        return "CloudEventsEnvelope[typePrefix=" + typePrefix + ", mode=" + mode + ", tenant=" + tenant
                + ", extensions=" + extensions.keySet() + "]";
    }

    private static void writeStructured(JsonGenerator g, ChangeEvent event, CloudEventsEnvelope self)
            throws IOException {
        SourcePosition p = event.position();
        g.writeStartObject();
        g.writeFieldName(F_SPECVERSION);
        g.writeString(SPEC_VERSION);
        g.writeFieldName(F_ID);
        g.writeString(event.id());
        g.writeFieldName(F_SOURCE);
        g.writeString(source(event));
        g.writeFieldName(F_TYPE);
        g.writeString(self.types[event.op().ordinal()]);
        g.writeFieldName(F_TIME);
        g.writeString(Rfc3339.format(p.commitTime()));
        g.writeFieldName(F_DATACONTENTTYPE);
        g.writeString(DATA_CONTENT_TYPE);
        g.writeFieldName(F_SUBJECT);
        g.writeString(event.table().toString());
        g.writeFieldName(F_TXID);
        g.writeString(Long.toString(p.xid()));
        g.writeFieldName(F_LSN);
        g.writeString(p.lsn().toString());
        g.writeFieldName(F_SEQUENCE);
        g.writeString(sequence(p));
        if (self.tenant != null) {
            g.writeFieldName(F_TENANT);
            g.writeString(self.tenant);
        }
        for (int i = 0; i < self.extensionFields.length; i++) {
            g.writeFieldName(self.extensionFields[i]);
            g.writeString(self.extensionValues[i]);
        }
        g.writeFieldName(F_DATA);
        writeData(g, event);
        g.writeEndObject();
    }

    private static void writeData(JsonGenerator g, ChangeEvent event) throws IOException {
        g.writeStartObject();
        JsonOutput.writeChange(g, event);
        g.writeEndObject();
    }

    private Map<String, String> headers(ChangeEvent event) {
        SourcePosition p = event.position();
        int n = 10 + (tenant == null ? 0 : 1) + extensionValues.length;
        @SuppressWarnings("unchecked")
        Map.Entry<String, String>[] h = new Map.Entry[n];
        int i = 0;
        h[i++] = header("specversion", SPEC_VERSION);
        h[i++] = header("id", event.id());
        h[i++] = header("source", source(event));
        h[i++] = header("type", types[event.op().ordinal()]);
        h[i++] = header("time", Rfc3339.format(p.commitTime()));
        h[i++] = header("datacontenttype", DATA_CONTENT_TYPE);
        h[i++] = header("subject", event.table().toString());
        h[i++] = header("txid", Long.toString(p.xid()));
        h[i++] = header("lsn", p.lsn().toString());
        h[i++] = header("sequence", sequence(p));
        if (tenant != null) {
            h[i++] = header("tenant", tenant);
        }
        for (int k = 0; k < extensionValues.length; k++) {
            h[i++] = header(extensionFields[k].getValue(), extensionValues[k]);
        }
        // Map.ofEntries is immutable, so Message's Map.copyOf keeps it rather than copying again.
        return Map.ofEntries(h);
    }

    private static Map.Entry<String, String> header(String attribute, String value) {
        return Map.entry(HEADER_PREFIX + attribute, PercentEncoding.headerValue(value));
    }

    static String source(ChangeEvent event) {
        return "deltaforge/" + PercentEncoding.pathSegment(event.sourceId()) + '/'
                + PercentEncoding.pathSegment(event.table().schema()) + '.'
                + PercentEncoding.pathSegment(event.table().table());
    }

    static String sequence(SourcePosition p) {
        char[] c = new char[27];
        long lsn = p.commitLsn().value();
        for (int i = 15; i >= 0; i--) {
            c[i] = Character.toUpperCase(Character.forDigit((int) (lsn & 0xF), 16));
            lsn >>>= 4;
        }
        c[16] = '-';
        int index = p.indexInTx();
        for (int i = 26; i >= 17; i--) {
            c[i] = (char) ('0' + index % 10);
            index /= 10;
        }
        return new String(c);
    }

    /**
     * Configures a {@link CloudEventsEnvelope}; mutable, for one use. Setters reject null naming the
     * parameter; {@link #build()} reports every problem at once.
     */
    public static final class Builder {
        private @Nullable String typePrefix;
        private Mode mode = Mode.STRUCTURED;
        private @Nullable String tenant;
        private final Map<String, String> extensions = new LinkedHashMap<>();

        private Builder() {
        }

        /** The start of every {@code type}, e.g. {@code com.acme.users}; required, never null. */
        public Builder typePrefix(String typePrefix) {
            this.typePrefix = Objects.requireNonNull(typePrefix, "typePrefix");
            return this;
        }

        /** Structured (the default) or binary; never null. */
        public Builder mode(Mode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** The {@code tenant} extension's value; null (the default) leaves the extension out. */
        public Builder tenant(@Nullable String tenant) {
            this.tenant = tenant;
            return this;
        }

        /**
         * A constant extension attribute added to every event, after the built-in ones.
         *
         * @param name  lower-case ASCII letters and digits, not a name this envelope already sets; never null
         * @param value the value, sent as a string; never null
         */
        public Builder extension(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            extensions.put(name, value);
            return this;
        }

        /**
         * Checks everything and builds.
         *
         * @throws ConfigException listing every problem, with paths under {@code cloudevents}
         */
        public CloudEventsEnvelope build() {
            List<Problem> problems = new ArrayList<>();
            String prefix = typePrefix;
            if (prefix == null || prefix.isBlank()) {
                problems.add(new Problem("cloudevents.type_prefix",
                        "is required; set the start of every event type, e.g. com.acme.users"));
            } else if (prefix.chars().anyMatch(ch -> Character.isWhitespace(ch) || Character.isISOControl(ch))) {
                problems.add(new Problem("cloudevents.type_prefix", "'" + prefix
                        + "' contains whitespace; use a reverse-DNS name such as com.acme.users"));
            } else if (prefix.endsWith(".")) {
                problems.add(new Problem("cloudevents.type_prefix", "'" + prefix
                        + "' ends with a dot; drop it, the envelope adds '.created' and the like"));
            }
            if (tenant != null && tenant.isBlank()) {
                problems.add(new Problem("cloudevents.tenant", "is blank; set a tenant name or leave it out"));
            }
            for (String name : extensions.keySet()) {
                if (!EXTENSION_NAME.matcher(name).matches()) {
                    problems.add(new Problem("cloudevents.extensions." + name, "'" + name
                            + "' is not a CloudEvents attribute name; use lower-case letters a-z and digits only"));
                } else if (RESERVED.contains(name)) {
                    problems.add(new Problem("cloudevents.extensions." + name, "'" + name
                            + "' is set by the envelope itself; choose another name"));
                }
            }
            if (!problems.isEmpty()) {
                throw new ConfigException(problems);
            }
            return new CloudEventsEnvelope(this);
        }
    }
}
