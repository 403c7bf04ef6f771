package io.deltaforge.yaml.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads a secret (password, token) from a file, as mounted by Docker or Kubernetes secrets. Errors name the
 * file and what is wrong with it, never its content.
 */
public final class SecretFiles {
    /** Far more than any password or token; stops a wrong path such as a log file being read whole. */
    static final int MAX_BYTES = 64 * 1024;

    private SecretFiles() {
    }

    /**
     * The file's content as UTF-8 text without its trailing line breaks ({@code \n}, {@code \r\n}), which
     * editors and {@code echo} add.
     *
     * @throws IllegalArgumentException naming the file when it is missing, unreadable, a directory, too
     *                                  large or not UTF-8 text
     */
    public static String read(String file) {
        Path path;
        try {
            path = Path.of(file);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("'" + file + "' is not a file path: " + e.getReason());
        }
        if (Files.isDirectory(path)) {
            throw new IllegalArgumentException("secret file " + file + " is a directory; name the file itself");
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(path)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("secret file " + file + " does not exist");
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException("secret file " + file + " is not readable by this user "
                    + "(permission denied)");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read secret file " + file + ": "
                    + Causes.oneLine(e));
        }
        if (bytes.length > MAX_BYTES) {
            throw new IllegalArgumentException("secret file " + file + " is larger than " + MAX_BYTES
                    + " bytes; it should hold just the secret");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("secret file " + file + " is not UTF-8 text");
        }
        int end = text.length();
        while (end > 0 && (text.charAt(end - 1) == '\n' || text.charAt(end - 1) == '\r')) {
            end--;
        }
        return text.substring(0, end);
    }
}
