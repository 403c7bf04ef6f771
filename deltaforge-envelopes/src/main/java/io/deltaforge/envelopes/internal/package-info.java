/**
 * Implementation of the envelopes: JSON writing, time and header encoding, and the providers that
 * {@link java.util.ServiceLoader} finds. Not an API; may change in any release.
 */
@NullMarked
package io.deltaforge.envelopes.internal;

import org.jspecify.annotations.NullMarked;
