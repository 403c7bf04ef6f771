/** Decoding and the pull loop; not part of the API. */
@NullMarked
package io.deltaforge.consumer.internal;

import org.jspecify.annotations.NullMarked;
