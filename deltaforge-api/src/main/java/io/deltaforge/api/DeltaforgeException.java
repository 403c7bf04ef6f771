package io.deltaforge.api;

/** The root of every error DeltaForge raises. Messages name the object at fault and the fix. */
public class DeltaforgeException extends RuntimeException {
    public DeltaforgeException(String message) {
        super(message);
    }

    public DeltaforgeException(String message, Throwable cause) {
        super(message, cause);
    }
}
