package org.deltadit.engine.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * A dedicated pool of platform threads sized to the cores. {@link #run} hands out task indices
 * from a shared counter so uneven tasks balance themselves; the calling thread works too. A call
 * from inside a task runs serially, so nested parallel ops cannot deadlock the pool.
 */
public final class WorkerPool implements AutoCloseable {
    private final int threads;
    private final ExecutorService executor;
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);

    public WorkerPool(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads: " + threads + " (must be at least 1)");
        this.threads = threads;
        AtomicInteger id = new AtomicInteger();
        this.executor = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(r, "dit-cpu-" + id.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    public int threads() { return threads; }

    /** Runs {@code task} for every index in [0, tasks) and returns when all are done. */
    public void run(int tasks, IntConsumer task) {
        if (tasks <= 0) return;
        if (tasks == 1 || executor == null || INSIDE.get()) {
            for (int i = 0; i < tasks; i++) task.accept(i);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            boolean was = INSIDE.get();
            INSIDE.set(true);
            try {
                for (int i; (i = next.getAndIncrement()) < tasks; ) task.accept(i);
            } finally {
                INSIDE.set(was);
            }
        };
        int helpers = Math.min(threads, tasks) - 1;
        List<Future<?>> futures = new ArrayList<>(helpers);
        for (int h = 0; h < helpers; h++) futures.add(executor.submit(worker));
        Throwable failure = null;
        try {
            worker.run();
        } catch (RuntimeException | Error e) {
            failure = e;
            next.set(tasks);
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for worker threads", e);
            } catch (java.util.concurrent.ExecutionException e) {
                if (failure == null) failure = e.getCause();
            }
        }
        // rethrown as they are: an OutOfMemoryError in a kernel must reach the CLI's out-of-memory line as one
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error err) throw err;
        if (failure != null) throw new IllegalStateException(failure);
    }

    @Override
    public void close() { if (executor != null) executor.shutdownNow(); }
}
