package org.deltadit.serve;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.pipeline.GenerationResult;
import org.deltadit.pipeline.Image;
import org.deltadit.pipeline.Pipeline;
import org.deltadit.pipeline.ProgressListener;

/**
 * The jobs of a server: per model a fixed number of generations at once and a bounded queue (a full
 * queue is a {@link QueueFull}, HTTP 429), cancellation between steps, and expiry of finished jobs so
 * memory stays bounded.
 */
final class Jobs implements AutoCloseable {
    /** The model's queue is full. */
    static final class QueueFull extends RuntimeException {
        QueueFull(String model, int queue) { super("the queue of model '" + model + "' is full (" + queue + " waiting); try again later"); }
    }

    /** Thrown from the progress listener to stop a run between steps. */
    private static final class Cancelled extends RuntimeException {
        Cancelled() { super("cancelled", null, false, false); }
    }

    private final Map<String, Job> jobs = new ConcurrentHashMap<>();
    private final Map<String, ThreadPoolExecutor> workers = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "dit-serve-expiry");
        t.setDaemon(true);
        return t;
    });
    private final ServeOptions options;

    Jobs(ServeOptions options) {
        this.options = options;
        for (String m : options.models().keySet()) {
            // core = max: at most `concurrency` run, then the queue fills, then execute() rejects
            BlockingQueue<Runnable> queue = options.maxQueue() == 0 ? new SynchronousQueue<>() : new ArrayBlockingQueue<>(options.maxQueue());
            workers.put(m, new ThreadPoolExecutor(options.concurrency(), options.concurrency(), 0, TimeUnit.SECONDS, queue, r -> {
                        Thread t = new Thread(r, "dit-serve-" + m);
                        t.setDaemon(true);
                        return t;
                    }));
        }
        sweeper.scheduleWithFixedDelay(this::expire, 1, 1, TimeUnit.SECONDS);
    }

    /** Queues a checked request; QueueFull when the model's queue has no room. */
    Job submit(String model, Pipeline p, org.deltadit.pipeline.GenerationRequest request) {
        Job job = new Job(UUID.randomUUID().toString().substring(0, 13).replace("-", ""), model, request);
        ThreadPoolExecutor w = workers.get(model);
        jobs.put(job.id, job);
        try {
            w.execute(() -> run(job, p));
        } catch (RejectedExecutionException e) {
            jobs.remove(job.id);
            throw new QueueFull(model, w.getQueue().size());
        }
        return job;
    }

    private static void run(Job job, Pipeline p) {
        if (!job.start()) return; // cancelled while it waited
        try {
            GenerationResult r = p.generate(job.request, new ProgressListener() {
                @Override
                public void step(int done, int total, double seconds) {
                    if (job.cancelRequested) throw new Cancelled();
                    job.progress(done, total);
                }
            });
            List<byte[]> pngs = new ArrayList<>();
            for (Image im : r.images()) pngs.add(im.png());
            job.succeeded(r, pngs);
        } catch (Cancelled e) {
            job.cancelled();
        } catch (InvalidParameter e) {
            job.failed(RequestJson.field(e.parameter()) + ": " + e.problem());
        } catch (IllegalArgumentException | IllegalStateException e) {
            job.failed(e.getMessage());
        } catch (OutOfMemoryError e) {
            job.failed("out of memory: fewer images per request, or more memory for the server");
        } catch (RuntimeException e) {
            job.failed("internal error (" + e.getClass().getSimpleName() + ")");
        }
    }

    Job get(String id) { return jobs.get(id); }

    Collection<Job> all() { return jobs.values(); }

    /** Asks a job to stop between steps (a queued job never starts). */
    void cancel(Job job) {
        job.cancelRequested = true;
        job.cancelIfQueued(); // a queued job's runnable then returns when a worker reaches it
    }

    /** Drops finished jobs older than the TTL, with their images. */
    void expire() {
        long now = System.nanoTime(), ttl = TimeUnit.SECONDS.toNanos(options.jobTtlSeconds());
        jobs.values().removeIf(j -> j.finished() && j.finishedAgo(now) > ttl);
    }

    /** Cancels what runs and waits, then stops the workers. */
    @Override
    public void close() {
        for (Job j : jobs.values()) if (!j.finished()) j.cancelRequested = true;
        sweeper.shutdownNow();
        for (ThreadPoolExecutor w : workers.values()) {
            w.shutdown();
            try {
                if (!w.awaitTermination(30, TimeUnit.SECONDS)) w.shutdownNow();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                w.shutdownNow();
            }
        }
    }
}
