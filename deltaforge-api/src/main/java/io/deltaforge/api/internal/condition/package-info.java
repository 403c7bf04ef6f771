/**
 * The row-condition grammar of {@link io.deltaforge.api.SnapshotRequest}: a parser into a small syntax tree
 * that sources render into their own query language with bound parameters, so that no text of a request is
 * ever pasted into a query. Exported to the source modules only; it may change in any release.
 */
@NullMarked
package io.deltaforge.api.internal.condition;

import org.jspecify.annotations.NullMarked;
