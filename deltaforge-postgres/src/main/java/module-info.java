/** The PostgreSQL logical-replication (pgoutput) source, type {@code postgres}. */
module io.deltaforge.postgres {
    requires transitive io.deltaforge.api;
    requires java.sql;
    requires com.fasterxml.jackson.core;
    requires org.postgresql.jdbc;
    requires org.slf4j;

    exports io.deltaforge.postgres;

    provides io.deltaforge.spi.SourceProvider with io.deltaforge.postgres.PostgresSourceProvider;
}
