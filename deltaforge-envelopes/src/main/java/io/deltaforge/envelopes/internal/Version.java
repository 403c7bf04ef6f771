package io.deltaforge.envelopes.internal;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The DeltaForge version, as Maven wrote it into {@code version.properties} at build time. */
public final class Version {
    /** For example {@code 0.1.0-SNAPSHOT}; {@code unknown} when the resource is missing (an IDE build). */
    public static final String VERSION = load();

    private Version() {
    }

    private static String load() {
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version", "unknown").trim();
            // An unfiltered copy (run from sources without Maven) still has the placeholder.
            return v.isEmpty() || v.startsWith("${") ? "unknown" : v;
        } catch (IOException e) {
            return "unknown";
        }
    }
}
