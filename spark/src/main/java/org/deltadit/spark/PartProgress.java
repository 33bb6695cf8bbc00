package org.deltadit.spark;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.ExceptionFailure;
import org.apache.spark.Success$;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * A line on the driver per finished part: images done of the total and images per second since the job
 * started. Parts are the tasks of the job's first stage; a retried or speculative part counts once.
 */
final class PartProgress extends SparkListener {
    private final List<Work.Part> parts;
    private final int total;
    private final PrintStream err;
    private final long start = System.nanoTime();
    private final Set<Integer> done = ConcurrentHashMap.newKeySet();
    private volatile int stage = -1;
    private int images;

    PartProgress(List<Work.Part> parts, PrintStream err) {
        this.parts = parts;
        this.total = parts.stream().mapToInt(Work.Part::size).sum();
        this.err = err;
    }

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted e) {
        if (stage < 0) stage = e.stageInfo().stageId();
    }

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd e) {
        if (e.stageId() != stage) return;
        int index = e.taskInfo().index();
        if (!(e.reason() instanceof Success$)) {
            String why = e.reason() instanceof ExceptionFailure f ? f.description() : e.reason().getClass().getSimpleName().replace("$", "");
            err.printf(Locale.ROOT, "dit-spark: part %d, attempt %d failed on %s: %s%n", index, e.taskInfo().attemptNumber(), e.taskInfo().host(), why);
            return;
        }
        if (index >= parts.size() || !done.add(index)) return;
        images += parts.get(index).size();
        double s = (System.nanoTime() - start) / 1e9;
        err.printf(Locale.ROOT, "dit-spark: part %d done on %s (%d of %d parts): %d/%d images, %.2f images/s%n",
                index, e.taskInfo().host(), done.size(), parts.size(), images, total, images / s);
        notifyAll();
    }

    /**
     * Waits (up to two seconds) until every part's line is printed: the listener bus delivers task ends
     * a little after the job returns, and the summary should come last.
     */
    private synchronized void awaitLines() {
        long end = System.nanoTime() + 2_000_000_000L;
        while (done.size() < parts.size() && System.nanoTime() < end) {
            try {
                wait(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Runs {@code job} with this listener on {@code spark}'s bus, and waits for the parts' lines before returning. */
    <T> T during(org.apache.spark.sql.SparkSession spark, java.util.function.Supplier<T> job) {
        spark.sparkContext().addSparkListener(this);
        try {
            T out = job.get();
            awaitLines();
            return out;
        } finally {
            spark.sparkContext().removeSparkListener(this);
        }
    }

    /** Seconds since the job started. */
    double seconds() { return (System.nanoTime() - start) / 1e9; }
}
