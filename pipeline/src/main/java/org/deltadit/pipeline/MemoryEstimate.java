package org.deltadit.pipeline;

import java.util.Locale;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.weights.ModelConfig;

/**
 * A rough lower bound of the memory a run needs, checked before any work starts, so that a size far
 * beyond this machine is refused at once with the estimate instead of an OutOfMemoryError minutes
 * later. The engine's tensors live on the Java heap, so the bound is the JVM's maximum heap.
 */
public final class MemoryEstimate {
    private MemoryEstimate() {}

    /** Activations of one block-stack evaluation of {@code rows} batch rows: the residual stream, q/k/v and the MLP's wide layer. */
    public static long activations(ModelConfig c, long rows) {
        return rows * c.tokens() * (6L * c.hiddenSize() + c.mlpHidden()) * Float.BYTES;
    }

    /** Latents of {@code images} images: x_T, the result and the sampler's working copies. */
    public static long latents(ModelConfig c, long images) {
        long side = c.inputSize();
        return 6 * images * c.inChannels() * side * side * Float.BYTES;
    }

    /** Throws an InvalidParameter naming {@code parameter} when {@code bytes} exceed the heap. */
    public static void check(long bytes, String parameter, String what) {
        long max = Runtime.getRuntime().maxMemory();
        if (bytes < 0 || bytes > max) {
            throw new InvalidParameter(parameter, String.format(Locale.ROOT, "%s needs at least %s of memory; this JVM may use %s (raise it with -Xmx, e.g. DIT_JAVA_OPTS=-Xmx16g)",
                    what, bytes < 0 ? "more than 8 EB" : human(bytes), human(max)));
        }
    }

    static String human(long b) {
        if (b >= 1L << 40) return String.format(Locale.ROOT, "%.1f TB", b / (double) (1L << 40));
        if (b >= 1L << 30) return String.format(Locale.ROOT, "%.1f GB", b / (double) (1L << 30));
        return String.format(Locale.ROOT, "%.0f MB", b / (double) (1L << 20));
    }
}
