/**
 * Fault-injection tests against real PostgreSQL and nats-server: kill -9 of the runner (also during
 * snapshots), server outages, slot ownership, failing sinks, idle slot advancement, stop and commit policies.
 */
@NullMarked
package io.deltaforge.runner.faults;

import org.jspecify.annotations.NullMarked;
