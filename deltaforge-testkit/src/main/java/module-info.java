/** Real PostgreSQL and nats-server processes for tests, and the contract tests every sink owes the engine. */
module io.deltaforge.testkit {
    requires transitive io.deltaforge.api;
    requires transitive org.junit.jupiter.api;
    requires transitive io.nats.jnats;
    requires java.sql;
    requires java.net.http;
    requires org.assertj.core;

    exports io.deltaforge.testkit;
    // JUnit discovers and runs the contract's tests reflectively.
    opens io.deltaforge.testkit to org.junit.platform.commons;
}
