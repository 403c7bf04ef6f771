package io.deltaforge.api;

/**
 * A failure that may pass by itself (a server restarting, a timeout, a connection reset). The engine
 * retries the work with backoff instead of failing the pipeline.
 */
public class RetryableException extends DeltaforgeException {
    public RetryableException(String message) {
        super(message);
    }

    public RetryableException(String message, Throwable cause) {
        super(message, cause);
    }
}
