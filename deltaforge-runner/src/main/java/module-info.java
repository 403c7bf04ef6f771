/**
 * The {@code deltaforge} command line: runs or validates {@code deltaforge/v1} YAML pipelines and serves health,
 * readiness, Prometheus metrics and the guarded pause/resume/snapshot endpoints over HTTP. The sources, sinks and
 * envelopes are whatever provider modules are present.
 */
module io.deltaforge.runner {
    requires io.deltaforge.yaml;
    requires com.fasterxml.jackson.databind;
    requires micrometer.registry.prometheus;
    requires jdk.httpserver;
    requires org.slf4j;

    exports io.deltaforge.runner;
}
