package org.deltadit.serve;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.deltadit.pipeline.GenerationRequest;
import org.deltadit.pipeline.GenerationResult;

/** One generation request, from queued to done: its progress, its result (images as PNG bytes) or its error. */
final class Job {
    enum Status { QUEUED, RUNNING, DONE, FAILED, CANCELLED }

    final String id, model;
    final GenerationRequest request;
    final long created = System.nanoTime();
    private volatile Status status = Status.QUEUED;
    private volatile int done, total;
    private volatile GenerationResult result;
    private volatile List<byte[]> pngs = List.of();
    private volatile String error;
    private volatile long finished;
    volatile boolean cancelRequested;
    private final List<Consumer<Job>> watchers = new CopyOnWriteArrayList<>();

    Job(String id, String model, GenerationRequest request) {
        this.id = id;
        this.model = model;
        this.request = request;
    }

    Status status() { return status; }

    int done() { return done; }

    int total() { return total; }

    GenerationResult result() { return result; }

    List<byte[]> pngs() { return pngs; }

    String error() { return error; }

    boolean finished() { return status != Status.QUEUED && status != Status.RUNNING; }

    /** Nanoseconds since it finished (0 while it has not). */
    long finishedAgo(long now) { return finished == 0 ? 0 : now - finished; }

    /** Told after every change (progress and the end); removed by the caller when done. */
    void watch(Consumer<Job> w) { watchers.add(w); }

    void unwatch(Consumer<Job> w) { watchers.remove(w); }

    /** QUEUED → RUNNING; false when it was cancelled while it waited. */
    boolean start() {
        synchronized (this) {
            if (status != Status.QUEUED) return false;
            status = Status.RUNNING;
        }
        tell();
        return true;
    }

    /** QUEUED → CANCELLED; false when it already runs (it then stops at its next step) or ended. */
    boolean cancelIfQueued() {
        synchronized (this) {
            if (status != Status.QUEUED) return false;
            error = "cancelled";
            finished = System.nanoTime();
            status = Status.CANCELLED;
        }
        tell();
        return true;
    }

    void progress(int done, int total) {
        this.done = done;
        this.total = total;
        tell();
    }

    void succeeded(GenerationResult r, List<byte[]> images) {
        result = r;
        pngs = List.copyOf(images);
        end(Status.DONE, null);
    }

    void failed(String message) { end(Status.FAILED, message); }

    void cancelled() { end(Status.CANCELLED, "cancelled"); }

    private void end(Status s, String message) {
        error = message;
        finished = System.nanoTime();
        status = s;
        tell();
    }

    private void tell() {
        for (Consumer<Job> w : watchers) w.accept(this);
    }
}
