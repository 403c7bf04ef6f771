package io.deltaforge.nats;

import io.deltaforge.testkit.NatsServer;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import java.io.IOException;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One nats-server with JetStream per test class, and for each test an admin connection to it with no stream left
 * by an earlier test. Register it in a static field: {@code @RegisterExtension static final JetStreamServer nats =
 * new JetStreamServer();}. JUnit runs the class's own {@code @BeforeEach} after this one's (a stream it adds
 * stays) and its {@code @AfterEach} before this one's (sinks close while the admin connection is open).
 */
final class JetStreamServer implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
    private NatsServer server;
    private Connection admin;
    private JetStreamManagement jsm;

    @Override
    public void beforeAll(ExtensionContext context) {
        server = NatsServer.start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (server != null) {
            server.close();
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        // A test that stops or kills the server leaves it for the next one to start again.
        if (!server.isRunning()) {
            server.startAgain();
        }
        admin = server.connect();
        jsm = admin.jetStreamManagement();
        Streams.deleteAll(server, jsm);
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        if (admin != null) {
            admin.close();
            admin = null;
            jsm = null;
        }
    }

    /**
     * The test's admin connection, open from before the class's {@code @BeforeEach} to after its
     * {@code @AfterEach}.
     */
    Connection admin() {
        return admin;
    }

    JetStreamManagement jsm() {
        return jsm;
    }

    NatsServer server() {
        return server;
    }

    String url() {
        return server.url();
    }

    Connection connect() throws IOException, InterruptedException {
        return server.connect();
    }
}
