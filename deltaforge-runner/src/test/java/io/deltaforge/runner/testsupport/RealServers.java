package io.deltaforge.runner.testsupport;

import io.deltaforge.testkit.NatsServer;
import io.deltaforge.testkit.PostgresServer;
import io.nats.client.Connection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * A real PostgreSQL, a real nats-server and a connection to it for the whole test class, stopped after it.
 * A subclass's own {@code @BeforeAll} (under another name) runs after these start. Test classes run one
 * at a time, so the fields are the running class's.
 */
public abstract class RealServers {
    protected static PostgresServer pg;
    protected static NatsServer nats;
    protected static Connection nc;

    @BeforeAll
    static void startServers() throws Exception {
        pg = PostgresServer.start();
        nats = NatsServer.start();
        nc = nats.connect();
    }

    @AfterAll
    static void stopServers() throws Exception {
        if (nc != null) {
            nc.close();
            nc = null;
        }
        if (nats != null) {
            nats.close();
            nats = null;
        }
        if (pg != null) {
            pg.close();
            pg = null;
        }
    }
}
