package io.deltaforge.nats.internal;

import io.deltaforge.api.ChangeEvent;
import io.deltaforge.api.DeltaforgeException;

/** Turns why a publish failed into the batch's failure, naming the event it leaves undelivered. */
@FunctionalInterface
interface PublishFailure {
    DeltaforgeException of(ChangeEvent event, String subject, int payloadBytes, Throwable error);
}
