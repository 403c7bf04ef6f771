package io.deltaforge.spi;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks an SPI method (or record component) that is new and may still change in a minor release. Such methods
 * always have a default, and such components a constructor without them, that keeps the behaviour from before
 * they existed, so implementations need not use them.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target({ElementType.METHOD, ElementType.TYPE, ElementType.RECORD_COMPONENT})
public @interface Incubating {
}
