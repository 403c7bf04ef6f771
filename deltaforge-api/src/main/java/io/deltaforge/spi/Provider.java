package io.deltaforge.spi;

/**
 * What every provider has: a short type name that configuration uses to pick it ({@code postgres},
 * {@code nats}, {@code cloudevents}, ...). Providers are created by {@link java.util.ServiceLoader}, so
 * their constructors must be public, take no arguments and do no work.
 */
public interface Provider {
    /** The type name, lower case, unique among providers of the same kind. */
    String type();
}
