package io.deltaforge.consumer;

/** A consumer that cannot start or cannot go on; the message names the setting or the message at fault. */
public final class ConsumerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ConsumerException(String message) {
        super(message);
    }

    public ConsumerException(String message, Throwable cause) {
        super(message, cause);
    }
}
