package io.deltaforge.api;

/** Where a pipeline is in its life. Moves forward only. */
public enum PipelineState {
    NEW,
    /** Started; the source is connecting (or waiting for its slot). */
    STARTING,
    RUNNING,
    /** Draining in-flight batches after {@link Pipeline#stop()}. */
    STOPPING,
    STOPPED,
    /** Stopped by an error; {@link PipelineStatus#failure()} says which. */
    FAILED
}
