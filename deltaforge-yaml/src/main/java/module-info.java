/**
 * Pipelines described in YAML ({@code apiVersion: deltaforge/v1}) and the runner. Sources, sinks and
 * envelopes come from whatever provider modules are present.
 */
module io.deltaforge.yaml {
    requires transitive io.deltaforge.api;
    requires com.fasterxml.jackson.core;
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.dataformat.yaml;
    requires org.yaml.snakeyaml;
    requires micrometer.registry.prometheus;
    requires jdk.httpserver;
    requires org.slf4j;

    exports io.deltaforge.yaml;
}
