package io.deltaforge.api.internal;

import io.deltaforge.api.Lsn;
import io.deltaforge.api.SinkBinding;
import io.deltaforge.spi.CommitPolicy;
import io.deltaforge.spi.SinkOutcome;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The single writer of the source position. Batches are registered in log order; sinks report how each
 * batch went, in any order; the coordinator moves the checkpoint only across a prefix of batches that
 * all satisfy the commit policy, to the last transaction end that prefix contains.
 *
 * <p>Thread-safe: sink callbacks report from their own threads.
 */
final class CommitCoordinator {
    private final CommitPolicy policy;
    private final List<SinkBinding> sinks;
    private final Consumer<Lsn> acknowledge;
    private final Consumer<Throwable> stuck;
    private final ArrayDeque<Entry> pending = new ArrayDeque<>();
    private boolean reportedStuck;
    private @Nullable Lsn checkpoint;
    private long delivered;
    private @Nullable Instant lastDeliveredCommitTime;

    /**
     * @param stuck told once when a batch can never satisfy the policy (every sink finished with it, some
     *              for good with a failure the policy does not accept)
     */
    CommitCoordinator(CommitPolicy policy, List<SinkBinding> sinks, Consumer<Lsn> acknowledge,
                      Consumer<Throwable> stuck) {
        this.policy = policy;
        this.sinks = sinks;
        this.acknowledge = acknowledge;
        this.stuck = stuck;
    }

    /**
     * Whether the policy is met with every required sink delivered and every optional one failed: then no
     * optional sink can hold the checkpoint back, and one that falls behind may be skipped. Under policies
     * that count optional sinks (all, a quorum above the required ones) they slow the pipeline instead.
     */
    boolean ignoresOptionalSinks() {
        List<SinkOutcome> outcomes = new ArrayList<>();
        for (SinkBinding b : sinks) {
            outcomes.add(new SinkOutcome(b.sink().id(), b.required(),
                    b.required() ? SinkOutcome.State.DELIVERED : SinkOutcome.State.FAILED));
        }
        return policy.isSatisfied(outcomes);
    }

    /**
     * Registers the next batch in log order.
     *
     * @param checkpoint  the position to acknowledge once this batch and all before it are delivered;
     *                    null when the batch ends inside a transaction
     * @param nothingFor  for each sink, whether the batch holds nothing for it (everything filtered
     *                    out): such a sink counts as delivered at once
     */
    synchronized Entry register(long sequence, int eventCount, @Nullable Lsn checkpoint, boolean[] nothingFor,
                                @Nullable Instant lastCommitTime) {
        Entry entry = new Entry(sequence, eventCount, checkpoint, sinks.size(), lastCommitTime);
        for (int s = 0; s < nothingFor.length; s++) {
            if (nothingFor[s]) {
                entry.states[s] = SinkOutcome.State.DELIVERED;
            }
        }
        pending.addLast(entry);
        advance();
        return entry;
    }

    /** Records how one sink finished with a batch. */
    synchronized void complete(Entry entry, int sinkIndex, SinkOutcome.State state) {
        entry.states[sinkIndex] = state;
        advance();
    }

    synchronized @Nullable Lsn checkpoint() {
        return checkpoint;
    }

    /** Commit time of the newest event whose batch was committed; null before the first. */
    synchronized @Nullable Instant lastDeliveredCommitTime() {
        return lastDeliveredCommitTime;
    }

    synchronized long delivered() {
        return delivered;
    }

    synchronized boolean isIdle() {
        return pending.isEmpty();
    }

    /** Waits until every registered batch is committed; true if that happened in time. */
    synchronized boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!pending.isEmpty()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }

    private void advance() {
        Lsn newest = null;
        while (!pending.isEmpty()) {
            Entry head = pending.peekFirst();
            if (!policy.isSatisfied(head.outcomes(sinks))) {
                break;
            }
            pending.removeFirst();
            delivered += head.eventCount;
            if (head.lastCommitTime != null) {
                lastDeliveredCommitTime = head.lastCommitTime;
            }
            if (head.checkpoint != null) {
                newest = head.checkpoint;
            }
        }
        if (newest != null && (checkpoint == null || newest.isAfter(checkpoint))) {
            checkpoint = newest;
            acknowledge.accept(newest);
        }
        if (pending.isEmpty()) {
            notifyAll();
        } else {
            reportIfStuck(pending.peekFirst());
        }
    }

    /** A batch every sink is done with that still fails the policy would hold the checkpoint forever. */
    private void reportIfStuck(Entry head) {
        if (reportedStuck) {
            return;
        }
        for (SinkOutcome.State s : head.states) {
            if (s == SinkOutcome.State.PENDING) {
                return;
            }
        }
        reportedStuck = true;
        StringBuilder states = new StringBuilder();
        for (SinkOutcome o : head.outcomes(sinks)) {
            states.append(states.length() == 0 ? "" : ", ").append(o.sinkId()).append(' ')
                    .append(o.state().name().toLowerCase(java.util.Locale.ROOT));
        }
        stuck.accept(new io.deltaforge.api.DeltaforgeException("the commit policy can no longer be met for batch "
                + head.sequence + " (" + states + "): an optional sink failed for good and the policy counts it; "
                + "the source stays before this batch, so a restart resends it. Make the sink required, or use a "
                + "policy that does without it (required, or a lower quorum)"));
    }

    /** One registered batch; its states are guarded by the coordinator's lock. */
    static final class Entry {
        final long sequence;
        final int eventCount;
        final @Nullable Lsn checkpoint;
        final @Nullable Instant lastCommitTime;
        final SinkOutcome.State[] states;

        Entry(long sequence, int eventCount, @Nullable Lsn checkpoint, int sinkCount, @Nullable Instant lastCommitTime) {
            this.lastCommitTime = lastCommitTime;
            this.sequence = sequence;
            this.eventCount = eventCount;
            this.checkpoint = checkpoint;
            this.states = new SinkOutcome.State[sinkCount];
            java.util.Arrays.fill(states, SinkOutcome.State.PENDING);
        }

        List<SinkOutcome> outcomes(List<SinkBinding> sinks) {
            List<SinkOutcome> out = new ArrayList<>(states.length);
            for (int i = 0; i < states.length; i++) {
                SinkBinding b = sinks.get(i);
                out.add(new SinkOutcome(b.sink().id(), b.required(), states[i]));
            }
            return out;
        }
    }
}
