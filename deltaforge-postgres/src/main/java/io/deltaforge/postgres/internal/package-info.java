/**
 * Machinery of the PostgreSQL source: DSN parsing, slot and publication checks, the replication session,
 * the pgoutput decoder and the text-to-value type mapping. Not API; may change at any time.
 */
@NullMarked
package io.deltaforge.postgres.internal;

import org.jspecify.annotations.NullMarked;
