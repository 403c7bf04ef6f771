package io.deltaforge.api;

/** Where a pipeline is in its life. Moves forward only. */
public enum PipelineState {
    NEW,
    /** Started; the source is connecting (or waiting for its slot). */
    STARTING,
    RUNNING,
    /** {@link Pipeline#pause() Paused}: connected, not reading; in-flight batches still complete. */
    PAUSED,
    /** Draining in-flight batches after {@link Pipeline#stop()}. */
    STOPPING,
    STOPPED,
    /** Stopped by an error; {@link PipelineStatus#failure()} says which. */
    FAILED
}
