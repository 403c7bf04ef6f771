package io.deltaforge.runner.internal;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;

/** Reads request bodies up to a size limit, never a byte more than the limit allows. */
final class RequestBody {
    private RequestBody() {
    }

    /** The body is larger than the limit; nothing past the limit was read. */
    static final class TooLarge extends IOException {
        TooLarge(int limit) {
            super("the request body is larger than " + limit + " bytes");
        }
    }

    /** True when the request declares a {@code Content-Length} above {@code limit}. */
    static boolean declaredOver(HttpExchange ex, int limit) {
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        if (length == null) {
            return false;
        }
        try {
            return Long.parseLong(length.trim()) > limit;
        } catch (NumberFormatException e) {
            return false; // the server itself rejects a malformed length before a handler runs
        }
    }

    /**
     * The whole body, when it has at most {@code limit} bytes.
     *
     * @throws TooLarge when it is longer: by its declared length, without reading it, or (chunked) after
     *                  reading {@code limit + 1} bytes
     */
    static byte[] read(HttpExchange ex, int limit) throws IOException {
        if (declaredOver(ex, limit)) {
            throw new TooLarge(limit);
        }
        // Not closed here: closing would read on to the end of the body. The exchange's close() deals with
        // whatever is left (the JDK discards a bounded remainder or drops the connection).
        InputStream in = ex.getRequestBody();
        byte[] body = in.readNBytes(limit + 1);
        if (body.length > limit) {
            throw new TooLarge(limit);
        }
        return body;
    }
}
