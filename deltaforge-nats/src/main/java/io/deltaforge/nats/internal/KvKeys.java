package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;
import io.deltaforge.api.Row;
import io.deltaforge.api.TableId;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * KV keys of rows: a template of {@code {schema}}, {@code {table}} and a last token {@code {key}}, filled with
 * escaped values so any value gives a valid key ({@code [-/_=.a-zA-Z0-9]}, tokens never empty) and never adds
 * a token. Escaping keeps {@code A-Z a-z 0-9 - _} and writes every other UTF-8 byte as {@code =XY} (upper-case
 * hex); an empty value is {@code =}. Several key columns are separate tokens, in key order.
 */
public final class KvKeys {
    private static final Logger LOG = LoggerFactory.getLogger(KvKeys.class);
    public static final String DEFAULT_TEMPLATE = "{schema}.{table}.{key}";
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private final String template;
    private final Map<TableId, List<String>> configuredKeys;
    private final Set<TableId> warnedWholeRowKeys = ConcurrentHashMap.newKeySet();

    private KvKeys(String template, Map<TableId, List<String>> configuredKeys) {
        this.template = template;
        this.configuredKeys = Map.copyOf(configuredKeys);
    }

    /** Empty when the template is usable, else why not. */
    public static String problemWithTemplate(String template) {
        if (!template.equals("{key}") && !template.endsWith(".{key}")) {
            return "'" + template + "' must end with the token {key} (e.g. {schema}.{table}.{key}), so a table's"
                    + " keys share a prefix that a truncate can purge";
        }
        String rest = template.substring(0, template.length() - "{key}".length())
                .replace("{schema}", "s").replace("{table}", "t");
        if (rest.contains("{") || rest.contains("}")) {
            return "'" + template + "' has an unknown placeholder; known: {schema}, {table}, {key}";
        }
        if (!rest.isEmpty() && (!rest.matches("[-/_=.a-zA-Z0-9]+") || rest.startsWith(".") || rest.contains(".."))) {
            return "'" + template + "' has characters a KV key cannot hold; allowed: letters, digits, - / _ = and"
                    + " single dots between tokens";
        }
        return "";
    }

    public static KvKeys of(String template, Map<TableId, List<String>> configuredKeys) {
        String why = problemWithTemplate(template);
        if (!why.isEmpty()) {
            throw new IllegalArgumentException(why);
        }
        return new KvKeys(template, configuredKeys);
    }

    /** The key of the row {@code row} of {@code event}'s table. */
    public String key(ChangeEvent event, Row row) {
        List<String> columns = keyColumns(event);
        if (columns.size() > 1 && columns.size() == row.size() && !configuredKeys.containsKey(event.table())
                && warnedWholeRowKeys.add(event.table())) {
            LOG.warn("table {}: the source reports every column as its key (REPLICA IDENTITY FULL?), so its KV keys"
                    + " hold whole rows; set key_columns: {{{}: [primary key columns]}}", event.table(), event.table());
        }
        StringBuilder key = new StringBuilder();
        for (String column : columns) {
            if (!row.hasColumn(column)) {
                throw new DeltaforgeException("event " + event.id() + " of " + event.table() + " (" + event.op()
                        + ") lacks key column '" + column + "'; a nats_kv sink needs the key in every row image");
            }
            Object value = row.get(column);
            if (value == null) {
                throw new DeltaforgeException("event " + event.id() + " of " + event.table() + ": key column '"
                        + column + "' is null");
            }
            key.append(key.length() == 0 ? "" : ".").append(escape(text(value)));
        }
        return prefix(event.table()) + key;
    }

    /** Whether the row image holds every key column (a key-only old row of an update may not). */
    public boolean hasKey(ChangeEvent event, @Nullable Row row) {
        if (row == null) {
            return false;
        }
        for (String column : keyColumns(event)) {
            if (!row.hasColumn(column) || row.get(column) == null) {
                return false;
            }
        }
        return true;
    }

    /** A filter matching every key of {@code table}: the template with {@code {key}} as {@code >}. */
    public String tableFilter(TableId table) {
        return prefix(table) + ">";
    }

    private String prefix(TableId table) {
        return template.substring(0, template.length() - "{key}".length())
                .replace("{schema}", escape(table.schema())).replace("{table}", escape(table.table()));
    }

    private List<String> keyColumns(ChangeEvent event) {
        List<String> configured = configuredKeys.get(event.table());
        if (configured != null) {
            return configured;
        }
        if (event.keyColumns().isEmpty()) {
            throw new DeltaforgeException("table " + event.table() + " has no primary key (nor replica identity"
                    + " index) that the source reports, so nats_kv cannot key its rows; add a primary key, or set"
                    + " key_columns: {" + event.table() + ": [columns]}");
        }
        return event.keyColumns();
    }

    private static String text(Object value) {
        return value instanceof BigDecimal d ? d.toPlainString() : String.valueOf(value);
    }

    static String escape(String value) {
        if (value.isEmpty()) {
            return "=";
        }
        StringBuilder out = new StringBuilder(value.length());
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            char ch = (char) (b & 0xFF);
            if (ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
                out.append(ch);
            } else {
                out.append('=').append(HEX[(b >> 4) & 0xF]).append(HEX[b & 0xF]);
            }
        }
        return out.toString();
    }
}
