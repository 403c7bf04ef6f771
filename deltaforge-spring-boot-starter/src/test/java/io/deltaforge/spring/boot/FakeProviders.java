package io.deltaforge.spring.boot;

import io.deltaforge.api.Lsn;
import io.deltaforge.spi.Batch;
import io.deltaforge.spi.ProviderConfig;
import io.deltaforge.spi.Sink;
import io.deltaforge.spi.SinkProvider;
import io.deltaforge.spi.Source;
import io.deltaforge.spi.SourceProvider;
import io.deltaforge.spi.SourceRecord;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/** A source with nothing to read and a sink that accepts everything, type {@code fake}, for the context tests. */
final class FakeProviders {
    private FakeProviders() {
    }

    public static final class FakeSourceProvider implements SourceProvider {
        @Override
        public String type() {
            return "fake";
        }

        @Override
        public Source create(ProviderConfig config) {
            String id = config.requiredString("id");
            config.throwIfInvalid();
            return new IdleSource(id);
        }
    }

    public static final class FakeSinkProvider implements SinkProvider {
        @Override
        public String type() {
            return "fake";
        }

        @Override
        public Sink create(ProviderConfig config) {
            String id = config.requiredString("id");
            config.throwIfInvalid();
            return new AcceptingSink(id);
        }
    }

    /** Never has a record: waits out each poll until closed. */
    static final class IdleSource implements Source {
        private final String id;
        private final CountDownLatch closed = new CountDownLatch(1);

        IdleSource(String id) {
            this.id = id;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public void start() {
        }

        @Override
        public @Nullable SourceRecord poll(Duration timeout) throws InterruptedException {
            closed.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return null;
        }

        @Override
        public void acknowledge(Lsn position) {
        }

        @Override
        public void close() {
            closed.countDown();
        }
    }

    record AcceptingSink(String id) implements Sink {
        @Override
        public CompletionStage<Void> send(Batch batch) {
            return CompletableFuture.completedFuture(null);
        }
    }
}
