package io.deltaforge.testkit;

import io.deltaforge.api.DeltaforgeException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks free TCP ports on 127.0.0.1.
 *
 * <p>Ports come from below the kernel's ephemeral range when possible: the servers restart on the same
 * port, and a port inside the ephemeral range could meanwhile be taken as the local end of some
 * outgoing client connection (e.g. a JDBC reconnect attempt), which would make the restart fail.
 */
final class Ports {
    private static final int LOWEST = 20000;

    private Ports() {}

    static int freePort() {
        int ephemeralLow = ephemeralLow();
        if (ephemeralLow - LOWEST >= 1000) {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            for (int attempt = 0; attempt < 50; attempt++) {
                int port = LOWEST + random.nextInt(ephemeralLow - LOWEST);
                if (canBind(port)) {
                    return port;
                }
            }
        }
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new DeltaforgeException("cannot find a free TCP port on 127.0.0.1: " + e.getMessage(), e);
        }
    }

    static boolean canBind(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress("127.0.0.1", port), 1);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static boolean accepts(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int ephemeralLow() {
        // Streamed rather than Files.readString: /proc files report a bogus size, which truncates the read.
        try (InputStream in = Files.newInputStream(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))) {
            String[] parts = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+");
            return Integer.parseInt(parts[0]);
        } catch (IOException | RuntimeException e) {
            return 32768;
        }
    }
}
