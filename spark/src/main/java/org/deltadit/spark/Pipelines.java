package org.deltadit.spark;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.deltadit.pipeline.Pipeline;

/**
 * One pipeline per model and device in each executor JVM: the first task to need it opens it, every
 * later task of the job (and of later jobs in the same JVM) reuses it. A pipeline serves several task
 * threads at once (all per-request state lives in the call), so executor cores share one mapping.
 */
final class Pipelines {
    private Pipelines() {}

    private static final Map<String, Pipeline> OPEN = new ConcurrentHashMap<>();
    private static final Map<String, Boolean> WARM = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> OPEN.values().forEach(Pipeline::close), "dit-spark-pipelines"));
    }

    /** The pipeline of {@code ref} on this task's device, opened on first use. */
    static Pipeline get(ModelRef ref) {
        String device = ref.deviceForTask();
        return OPEN.computeIfAbsent(ref + "@" + device, k -> Pipeline.open(ref.spec(device)));
    }

    private static final Map<String, Object> CACHED = new ConcurrentHashMap<>();

    /** A value made once per JVM and key (an evaluation network), shared by later tasks. */
    @SuppressWarnings("unchecked")
    static <T> T cached(String key, java.util.function.Supplier<T> make) { return (T) CACHED.computeIfAbsent(key, k -> make.get()); }

    /** Runs {@code warmUp} once per JVM and {@code key} (untimed JIT warm-up before a timed job). */
    static void warmOnce(String key, Runnable warmUp) {
        WARM.computeIfAbsent(key, k -> {
            warmUp.run();
            return true;
        });
    }
}
