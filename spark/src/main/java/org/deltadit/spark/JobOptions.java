package org.deltadit.spark;

import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/** The flags every job takes: where it runs, how it is split, what it prints. */
final class JobOptions {
    @Option(names = "--master", description = "Spark master URL: local[N], local[N,F] (F attempts per task), spark://host:port, yarn, k8s://… (default: spark-submit's, else local[*])")
    String master;
    @Option(names = "--conf", description = "a Spark setting KEY=VALUE; repeatable (e.g. spark.task.cpus=2)")
    Map<String, String> conf;
    @Option(names = "--partitions", description = "parts the images are split into, a task each (default: the cluster's default parallelism)")
    Integer partitions;
    @Option(names = "--device", description = "cpu, reference, opencl[:N] or cuda[:N] on each executor; opencl or cuda alone takes the GPU Spark assigned the task (default: cpu)")
    String device;
    @Option(names = "--threads", description = "engine threads per task (default: all cores of the executor; set it to spark.task.cpus)")
    Integer threads;
    @Option(names = "--json", description = "a JSON summary on stdout")
    boolean json;

    /** The forms of master URL Spark 4 accepts (checked first: Spark's own refusal logs a stack trace). */
    static final java.util.regex.Pattern MASTER = java.util.regex.Pattern.compile(
            "local|local\\[(\\d+|\\*)(,\\d+)?]|local-cluster\\[\\d+,\\d+,\\d+]|spark://[^/\\s]+(:\\d+)?(,[^/\\s]+(:\\d+)?)*|yarn|k8s://\\S+");

    /** What every engine JVM passes (pom.xml's jit.inline): C2 inlines the vector exp/erf into the kernels. */
    static final String JIT_INLINE = "-XX:CompileCommand=quiet -XX:CompileCommand=inline,org.deltadit.engine.cpu.VectorMath::* -XX:CompileCommand=inline,org.deltadit.engine.cpu.CpuBackend::erf";

    /** A session, stopped at the end only when this job started it. */
    record Session(SparkSession spark, boolean own) implements AutoCloseable {
        @Override
        public void close() { if (own) spark.stop(); }
    }

    /**
     * The session: one already running in this JVM with the same master (a notebook's, a test's) is used
     * and left running; else a new one with spark-submit's master when launched by it, else {@code --master}
     * or local[*]. A master URL Spark cannot parse or reach is one line (IllegalArgumentException), before
     * any work.
     */
    Session session(String app) {
        if (partitions != null && partitions < 1) throw new IllegalArgumentException("--partitions: " + partitions + " (must be at least 1)");
        if (threads != null && threads < 1) throw new IllegalArgumentException("--threads: " + threads + " (must be at least 1)");
        SparkSession.Builder b = SparkSession.builder().appName(app).config("spark.ui.showConsoleProgress", "false");
        String m = master != null ? master : System.getProperty("spark.master", "local[*]");
        if (!MASTER.matcher(m).matches()) {
            throw new IllegalArgumentException("--master: '" + m + "' is not a Spark master URL (local, local[N], local[*], local[N,F], spark://HOST:PORT, yarn, k8s://HOST:PORT)");
        }
        var running = SparkSession.getActiveSession().isDefined() ? SparkSession.getActiveSession() : SparkSession.getDefaultSession();
        if (running.isDefined() && !running.get().sparkContext().isStopped()) {
            String has = running.get().sparkContext().master();
            if (!has.equals(m)) throw new IllegalArgumentException("--master: " + m + ": this JVM already runs a Spark session on " + has + " (one per JVM)");
            return new Session(running.get(), false);
        }
        b.master(m);
        if (m.startsWith("local")) b.config("spark.ui.enabled", "false");
        else if (System.getProperty("spark.executor.extraJavaOptions") == null && (conf == null || !conf.containsKey("spark.executor.extraJavaOptions"))) {
            b.config("spark.executor.extraJavaOptions", JIT_INLINE); // the engine's vector kernels, as the launchers run them
        }
        else if (System.getProperty("spark.jars") == null && (conf == null || !conf.containsKey("spark.jars")) && ownJar() != null) {
            b.config("spark.jars", ownJar()); // run by ./dit-spark, not spark-submit: ship the job jar to the executors as spark-submit would
        }
        if (conf != null) conf.forEach(b::config);
        try {
            return new Session(b.getOrCreate(), true);
        } catch (Exception e) { // Scala's exceptions are unchecked in Java's eyes: SparkException comes here too
            throw new IllegalArgumentException("--master: " + m + ": " + firstLine(e));
        }
    }

    /** Parts for {@code work}: --partitions, else the session's default parallelism. */
    List<Work.Part> parts(Work work, SparkSession s) {
        return work.split(partitions != null ? partitions : s.sparkContext().defaultParallelism());
    }

    /** The jar this class was loaded from (dit-spark.jar), or null when it was loaded from a folder (the tests). */
    static String ownJar() {
        try {
            java.nio.file.Path p = java.nio.file.Path.of(JobOptions.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return java.nio.file.Files.isRegularFile(p) ? p.toString() : null;
        } catch (Exception e) {
            return null;
        }
    }

    static String firstLine(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && (t.getMessage() == null || t.getMessage().isBlank())) t = t.getCause();
        String msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return msg.lines().findFirst().orElse(msg);
    }
}
