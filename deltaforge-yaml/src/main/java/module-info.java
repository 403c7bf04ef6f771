/**
 * Pipelines described in YAML ({@code apiVersion: deltaforge/v1}). Sources, sinks and envelopes come from
 * whatever provider modules are present.
 */
module io.deltaforge.yaml {
    requires transitive io.deltaforge.api;
    requires com.fasterxml.jackson.core;
    requires com.fasterxml.jackson.dataformat.yaml;
    requires org.yaml.snakeyaml;

    exports io.deltaforge.yaml;
    // Error formatting and secret files, shared with the command line.
    exports io.deltaforge.yaml.internal to io.deltaforge.runner;
}
