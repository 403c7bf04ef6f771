package io.deltaforge.consumer.internal;

import io.deltaforge.consumer.ChangeMessage;
import java.util.List;

/** What the loop hands out at once: one change, or the changes of one transaction. */
@FunctionalInterface
public interface UnitHandler {
    void handle(List<ChangeMessage> changes, long attempt) throws Exception;
}
