package io.deltaforge.envelopes;

import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.core.data.BytesCloudEventData;
import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.ConfigException;
import io.deltaforge.api.ConfigException.Problem;
import io.deltaforge.api.Op;
import io.deltaforge.api.SourcePosition;
import io.deltaforge.api.TableId;
import io.deltaforge.envelopes.internal.JsonBytes;
import io.deltaforge.envelopes.internal.JsonOutput;
import io.deltaforge.envelopes.internal.JsonString;
import io.deltaforge.envelopes.internal.PartitionKeys;
import io.deltaforge.envelopes.internal.PercentEncoding;
import io.deltaforge.envelopes.internal.Rfc3339;
import io.deltaforge.envelopes.internal.TableNames;
import io.deltaforge.spi.Envelope;
import io.deltaforge.spi.Message;
import java.io.IOException;
import java.net.URI;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.EnumSet;
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
 *  "partitionkey":"1","tenant":"acme","data":{"before":null,"after":{"id":1,"name":"Alice"},"op":"c"}}
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
 *   <li>{@code subject}: {@code <schema>.<table>} (a logical message: its prefix); {@code data}: before,
 *       after (each a row object or null, always present) and the op code; a truncate adds
 *       {@code "truncate":{"cascade":..,"restart_identity":..}}, a logical message
 *       {@code "message":{"prefix":..,"content":..,"transactional":..}} ({@code content_base64} instead of
 *       {@code content} when the bytes are not UTF-8 text).
 *   <li>Extensions, all strings, each of the standard ones switchable ({@link StandardExtension}):
 *       {@code txid} (the transaction id in decimal), {@code lsn} (the change's LSN as PostgreSQL writes
 *       it), {@code sequence} (see below), {@code partitionkey} (the row's primary key, see below),
 *       {@code tenant} when set, then any constant extensions given to the builder, in the order given.
 * </ul>
 *
 * <p>{@code partitionkey}: the envelope uses the columns configured with {@link Builder#keyColumns}, else
 * the event's own {@link io.deltaforge.api.ChangeEvent#keyColumns() key columns} when the source reported
 * them, else a column named {@code id}, else for updates and deletes the columns of a key-only
 * {@code before} row; when none applies (and for truncates and messages) the attribute is left out. One
 * key column gives its value as text, several a JSON array such as {@code [7,"eu"]}.
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
            "datacontenttype", "dataschema", "subject", "data", "txid", "lsn", "sequence", "partitionkey",
            "tenant");

    private static final JsonString F_SPECVERSION = new JsonString("specversion");
    private static final JsonString F_ID = new JsonString("id");
    private static final JsonString F_SOURCE = new JsonString("source");
    private static final JsonString F_TYPE = new JsonString("type");
    private static final JsonString F_TIME = new JsonString("time");
    private static final JsonString F_DATACONTENTTYPE = new JsonString("datacontenttype");
    private static final JsonString F_SUBJECT = new JsonString("subject");
    private static final JsonString F_DATA = new JsonString("data");
    private static final JsonString F_TXID = new JsonString("txid");
    private static final JsonString F_LSN = new JsonString("lsn");
    private static final JsonString F_SEQUENCE = new JsonString("sequence");
    private static final JsonString F_PARTITIONKEY = new JsonString("partitionkey");
    private static final JsonString F_TENANT = new JsonString("tenant");
    private static final JsonString V_SPECVERSION = new JsonString(SPEC_VERSION);
    private static final JsonString V_DATACONTENTTYPE = new JsonString(DATA_CONTENT_TYPE);
    private static final char[] HEX_UPPER = "0123456789ABCDEF".toCharArray();

    private static final JsonOutput.Body<CloudEventsEnvelope> STRUCTURED = CloudEventsEnvelope::writeStructured;
    private static final JsonOutput.Body<CloudEventsEnvelope> DATA_ONLY = (g, e, self) -> writeData(g, e);

    /** How the event travels: all in the body, or attributes in headers. */
    public enum Mode {
        /** The JSON event format in the body; no headers. The default. */
        STRUCTURED,
        /** Attributes as {@code ce-<name>} headers (percent-encoded), the data JSON as the body. */
        BINARY
    }

    /**
     * The extension attributes the envelope computes per event, each on by default and switched off with
     * {@link Builder#enable(StandardExtension, boolean)} (YAML: {@code extensions: {txid: false}}).
     */
    public enum StandardExtension {
        /** {@code txid}: the transaction id in decimal. */
        TXID,
        /** {@code lsn}: the change's LSN as PostgreSQL writes it, e.g. {@code 0/16B3748}. */
        LSN,
        /** {@code sequence}: commit LSN and index in the transaction, ordered as text. */
        SEQUENCE,
        /** {@code partitionkey}: the row's primary key, when it can be told (see the class comment). */
        PARTITIONKEY,
        /** {@code tenant}: the configured tenant, when one is set. */
        TENANT;

        /** The attribute name, e.g. {@code txid}. */
        public String attribute() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final String typePrefix;
    private final Mode mode;
    private final @Nullable String tenant;
    private final Map<String, String> extensions;
    private final EnumSet<StandardExtension> enabled;
    private final PartitionKeys partitionKeys;
    /** {@code <prefix>.<verb>} for each {@link Op}, by ordinal: computed once, not per event. */
    private final String[] types;
    /** The same, pre-encoded. */
    private final JsonString[] typeValues;
    private final @Nullable JsonString tenantValue;
    /** {@code source} and {@code subject} per table, built once rather than per event. */
    private final TableNames tableNames = new TableNames();
    private final JsonOutput.Writers writers = new JsonOutput.Writers();
    private final JsonString[] extensionFields;
    private final String[] extensionValues;
    /** Replaced whole and never mutated, so batcher threads that race on it at most build it twice. */
    private volatile @Nullable TransactionText lastTransaction;

    private CloudEventsEnvelope(Builder b) {
        this.typePrefix = Objects.requireNonNull(b.typePrefix, "typePrefix");
        this.mode = b.mode;
        this.tenant = b.tenant;
        this.extensions = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(b.extensions));
        this.enabled = EnumSet.copyOf(b.enabled);
        this.partitionKeys = new PartitionKeys(b.keyColumns);
        this.types = new String[Op.values().length];
        this.typeValues = new JsonString[types.length];
        for (Op op : Op.values()) {
            types[op.ordinal()] = typePrefix + '.' + verb(op);
            typeValues[op.ordinal()] = new JsonString(types[op.ordinal()]);
        }
        this.tenantValue = tenant == null ? null : new JsonString(tenant);
        this.extensionFields = new JsonString[extensions.size()];
        this.extensionValues = new String[extensions.size()];
        int i = 0;
        for (Map.Entry<String, String> e : extensions.entrySet()) {
            extensionFields[i] = new JsonString(e.getKey());
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

    /** Whether a standard extension is written. */
    public boolean isEnabled(StandardExtension extension) {
        return enabled.contains(extension) && (extension != StandardExtension.TENANT || tenant != null);
    }

    @Override
    public Message encode(ChangeEvent event) {
        if (mode == Mode.STRUCTURED) {
            return new Message(event.id(), Map.of(), STRUCTURED_CONTENT_TYPE,
                    writers.toBytes(event, this, STRUCTURED));
        }
        return new Message(event.id(), headers(event), DATA_CONTENT_TYPE, writers.toBytes(event, this, DATA_ONLY));
    }

    /**
     * The same event as a CloudEvents SDK object, with the same attributes, extensions and data as
     * {@link #encode}, for code that hands events to other SDK bindings (HTTP, Kafka). Slower than
     * {@code encode}; not meant for the pipeline's hot path. Needs {@code io.cloudevents:cloudevents-core} on the
     * class path, an optional dependency of this module that the rest of it does without.
     */
    public CloudEvent toCloudEvent(ChangeEvent event) {
        return SdkEvents.of(this, event);
    }

    /** The SDK code, in a class of its own so that the envelope's class loads and verifies without the SDK. */
    private static final class SdkEvents {
        static CloudEvent of(CloudEventsEnvelope envelope, ChangeEvent event) {
            SourcePosition p = event.position();
            io.cloudevents.core.v1.CloudEventBuilder b = CloudEventBuilder.v1()
                    .withId(event.id())
                    .withSource(URI.create(envelope.source(event)))
                    .withType(envelope.types[event.op().ordinal()])
                    .withTime(OffsetDateTime.ofInstant(p.commitTime(), ZoneOffset.UTC))
                    .withDataContentType(DATA_CONTENT_TYPE)
                    .withSubject(envelope.subject(event));
            String[] ext = envelope.standardExtensions(event);
            for (int i = 0; i < ext.length; i += 2) {
                b.withExtension(ext[i], ext[i + 1]);
            }
            envelope.extensions.forEach(b::withExtension);
            return b.withData(BytesCloudEventData.wrap(envelope.writers.toBytes(event, envelope, DATA_ONLY))).build();
        }
    }

    @Override
    public String toString() {
        return "CloudEventsEnvelope[typePrefix=" + typePrefix + ", mode=" + mode + ", tenant=" + tenant
                + ", extensions=" + extensions.keySet() + "]";
    }

    /**
     * The structured event, written straight into the writer. Constant and per-table strings are
     * pre-encoded ({@link JsonString}), the time and txid once per transaction; the LSN and the sequence
     * are formatted into one scratch array per event rather than into intermediate strings, since this runs
     * for every event and its cost showed at the top of the pipeline's profile.
     */
    private static void writeStructured(JsonBytes g, ChangeEvent event, CloudEventsEnvelope self)
            throws IOException {
        SourcePosition p = event.position();
        TableNames.Names names = self.tableNames.of(event);
        char[] scratch = new char[40];
        g.writeStartObject();
        g.writeFieldName(F_SPECVERSION);
        g.writeString(V_SPECVERSION);
        g.writeFieldName(F_ID);
        g.writeString(event.id());
        g.writeFieldName(F_SOURCE);
        g.writeString(names.source());
        g.writeFieldName(F_TYPE);
        g.writeString(self.typeValues[event.op().ordinal()]);
        TransactionText tx = self.transactionText(p);
        g.writeFieldName(F_TIME);
        g.writeString(tx.time());
        g.writeFieldName(F_DATACONTENTTYPE);
        g.writeString(V_DATACONTENTTYPE);
        g.writeFieldName(F_SUBJECT);
        g.writeString(names.subject());
        EnumSet<StandardExtension> on = self.enabled;
        if (on.contains(StandardExtension.TXID)) {
            g.writeFieldName(F_TXID);
            g.writeString(tx.xid());
        }
        if (on.contains(StandardExtension.LSN)) {
            g.writeFieldName(F_LSN);
            g.writeString(scratch, 0, lsnText(p.lsn().value(), scratch));
        }
        if (on.contains(StandardExtension.SEQUENCE)) {
            g.writeFieldName(F_SEQUENCE);
            g.writeString(scratch, 0, sequence(p, scratch));
        }
        if (on.contains(StandardExtension.PARTITIONKEY)) {
            String key = self.partitionKeys.keyOf(event);
            if (key != null) {
                g.writeFieldName(F_PARTITIONKEY);
                g.writeString(key);
            }
        }
        if (on.contains(StandardExtension.TENANT) && self.tenantValue != null) {
            g.writeFieldName(F_TENANT);
            g.writeString(self.tenantValue);
        }
        for (int i = 0; i < self.extensionFields.length; i++) {
            g.writeFieldName(self.extensionFields[i]);
            g.writeString(self.extensionValues[i]);
        }
        g.writeFieldName(F_DATA);
        writeData(g, event);
        g.writeEndObject();
    }

    /**
     * The time and txid of the event's transaction, encoded once per transaction: every event of it has the
     * same, and formatting them was a tenth of the structured event's cost.
     */
    private TransactionText transactionText(SourcePosition p) {
        TransactionText t = lastTransaction;
        if (t == null || t.xidValue() != p.xid() || !t.commitTime().equals(p.commitTime())) {
            t = new TransactionText(p.commitTime(), p.xid(), new JsonString(Rfc3339.format(p.commitTime())),
                    new JsonString(Long.toString(p.xid())));
            lastTransaction = t;
        }
        return t;
    }

    private record TransactionText(Instant commitTime, long xidValue, JsonString time, JsonString xid) {
    }

    private static void writeData(JsonBytes g, ChangeEvent event) throws IOException {
        g.writeStartObject();
        JsonOutput.writeChange(g, event);
        g.writeEndObject();
    }

    private Map<String, String> headers(ChangeEvent event) {
        SourcePosition p = event.position();
        String[] ext = standardExtensions(event);
        int n = 7 + ext.length / 2 + extensionValues.length;
        @SuppressWarnings("unchecked")
        Map.Entry<String, String>[] h = new Map.Entry[n];
        int i = 0;
        h[i++] = header("specversion", SPEC_VERSION);
        h[i++] = header("id", event.id());
        h[i++] = header("source", source(event));
        h[i++] = header("type", types[event.op().ordinal()]);
        h[i++] = header("time", Rfc3339.format(p.commitTime()));
        h[i++] = header("datacontenttype", DATA_CONTENT_TYPE);
        h[i++] = header("subject", subject(event));
        for (int k = 0; k < ext.length; k += 2) {
            h[i++] = header(ext[k], ext[k + 1]);
        }
        for (int k = 0; k < extensionValues.length; k++) {
            h[i++] = header(extensionFields[k].value(), extensionValues[k]);
        }
        // Map.ofEntries is immutable, so Message's Map.copyOf keeps it rather than copying again.
        return Map.ofEntries(h);
    }

    private static Map.Entry<String, String> header(String attribute, String value) {
        return Map.entry(HEADER_PREFIX + attribute, PercentEncoding.headerValue(value));
    }

    /** Name/value pairs of the enabled standard extensions that have a value for this event, in order. */
    private String[] standardExtensions(ChangeEvent event) {
        SourcePosition p = event.position();
        String[] out = new String[10];
        int n = 0;
        if (enabled.contains(StandardExtension.TXID)) {
            out[n++] = "txid";
            out[n++] = Long.toString(p.xid());
        }
        if (enabled.contains(StandardExtension.LSN)) {
            out[n++] = "lsn";
            char[] c = new char[17];
            out[n++] = new String(c, 0, lsnText(p.lsn().value(), c));
        }
        if (enabled.contains(StandardExtension.SEQUENCE)) {
            out[n++] = "sequence";
            out[n++] = sequence(p);
        }
        if (enabled.contains(StandardExtension.PARTITIONKEY)) {
            String key = partitionKeys.keyOf(event);
            if (key != null) {
                out[n++] = "partitionkey";
                out[n++] = key;
            }
        }
        if (enabled.contains(StandardExtension.TENANT) && tenant != null) {
            out[n++] = "tenant";
            out[n++] = tenant;
        }
        return n == out.length ? out : java.util.Arrays.copyOf(out, n);
    }

    /** {@code schema.table}; for a logical message, its prefix. */
    static String subject(ChangeEvent event) {
        return TableNames.subject(event);
    }

    static String source(ChangeEvent event) {
        return TableNames.source(event);
    }

    static String sequence(SourcePosition p) {
        char[] c = new char[27];
        return new String(c, 0, sequence(p, c));
    }

    /**
     * Writes the sequence into {@code c} (at least 27 chars): the commit LSN as 16 upper-case hex digits, a
     * dash, the index in the transaction as 10 zero-padded digits. Returns the length, 27.
     */
    static int sequence(SourcePosition p, char[] c) {
        long lsn = p.commitLsn().value();
        for (int i = 15; i >= 0; i--) {
            c[i] = HEX_UPPER[(int) (lsn & 0xF)];
            lsn >>>= 4;
        }
        c[16] = '-';
        int index = p.indexInTx();
        int i = 26;
        // One division per digit and none for the leading zeros: C1 divides for real.
        while (index != 0) {
            int quotient = index / 10;
            c[i--] = (char) ('0' + (index - quotient * 10));
            index = quotient;
        }
        while (i >= 17) {
            c[i--] = '0';
        }
        return 27;
    }

    /**
     * Writes an LSN as PostgreSQL does ({@code 16/B374D848}: both halves in upper-case hex without
     * leading zeros) into {@code c} (at least 17 chars), as {@link io.deltaforge.api.Lsn#toString()} does
     * but without its intermediate strings. Returns the length.
     */
    static int lsnText(long lsn, char[] c) {
        int n = hex(lsn >>> 32, c, 0);
        c[n++] = '/';
        return hex(lsn & 0xFFFFFFFFL, c, n);
    }

    private static int hex(long value, char[] c, int at) {
        int digits = Math.max(1, (64 - Long.numberOfLeadingZeros(value) + 3) / 4);
        for (int i = at + digits - 1; i >= at; i--) {
            c[i] = HEX_UPPER[(int) (value & 0xF)];
            value >>>= 4;
        }
        return at + digits;
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
        private final EnumSet<StandardExtension> enabled = EnumSet.allOf(StandardExtension.class);
        private final Map<TableId, List<String>> keyColumns = new LinkedHashMap<>();

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

        /** Switches a standard extension on (the default) or off; never null. */
        public Builder enable(StandardExtension extension, boolean on) {
            Objects.requireNonNull(extension, "extension");
            if (on) {
                enabled.add(extension);
            } else {
                enabled.remove(extension);
            }
            return this;
        }

        /**
         * The key columns of a table for {@code partitionkey}; without them the envelope takes those the
         * source reported, or guesses (see the class comment).
         *
         * @param table   never null
         * @param columns one or more column names, in key order; never null
         */
        public Builder keyColumns(TableId table, List<String> columns) {
            Objects.requireNonNull(table, "table");
            Objects.requireNonNull(columns, "columns");
            keyColumns.put(table, List.copyOf(columns));
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
            keyColumns.forEach((table, columns) -> {
                if (columns.isEmpty()) {
                    problems.add(new Problem("cloudevents.partition_key_columns." + table,
                            "is empty; list the key columns, e.g. [id]"));
                }
            });
            if (!problems.isEmpty()) {
                throw new ConfigException(problems);
            }
            return new CloudEventsEnvelope(this);
        }
    }
}
