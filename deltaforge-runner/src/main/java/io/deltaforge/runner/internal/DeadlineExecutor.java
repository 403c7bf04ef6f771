package io.deltaforge.runner.internal;

import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The HTTP server's executor: a few threads, a bounded queue, and a deadline per task.
 *
 * <p>The JDK server runs each exchange, reading the request line and headers included, on its executor,
 * with blocking reads on the connection's {@code SocketChannel}. A client that trickles its headers or body
 * would hold a thread for as long as it likes. The JDK's own limits ({@code sun.net.httpserver.maxReqTime},
 * {@code idleInterval}) are system properties, shared by every server in the JVM and read once; an
 * embedding application may set them for its own servers. So each task here gets a deadline instead: past
 * it, the thread running the task is interrupted, which closes the channel it is blocked on
 * ({@code ClosedByInterruptException}) and ends the exchange. The deadline covers the whole exchange
 * (request, action, response); the actions are quick state changes, so it only bites on slow clients.
 *
 * <p>When every thread is busy and the queue is full, {@link #execute} throws
 * {@link java.util.concurrent.RejectedExecutionException}; the server closes that connection.
 */
final class DeadlineExecutor implements Executor, AutoCloseable {
    private final ThreadPoolExecutor workers;
    private final ScheduledExecutorService watchdog;
    private final long deadlineNanos;

    DeadlineExecutor(int threads, int queued, Duration deadline) {
        this.deadlineNanos = deadline.toNanos();
        AtomicInteger count = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(queued), r -> daemon(r, "deltaforge-http-" + count.incrementAndGet()),
                new ThreadPoolExecutor.AbortPolicy());
        this.workers.allowCoreThreadTimeOut(true);
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1,
                r -> daemon(r, "deltaforge-http-deadline"));
        timer.setRemoveOnCancelPolicy(true);
        this.watchdog = timer;
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    @Override
    public void execute(Runnable task) {
        workers.execute(() -> runWithDeadline(task));
    }

    private void runWithDeadline(Runnable task) {
        Thread worker = Thread.currentThread();
        Object lock = new Object();
        boolean[] finished = {false};
        ScheduledFuture<?> timeout = watchdog.schedule(() -> {
            synchronized (lock) {
                if (!finished[0]) {
                    worker.interrupt();
                }
            }
        }, deadlineNanos, TimeUnit.NANOSECONDS);
        try {
            task.run();
        } finally {
            timeout.cancel(false);
            synchronized (lock) {
                finished[0] = true;
            }
            // The watchdog may have fired just before: the next task must not start interrupted.
            Thread.interrupted();
        }
    }

    @Override
    public void close() {
        workers.shutdownNow();
        watchdog.shutdownNow();
        try {
            workers.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
