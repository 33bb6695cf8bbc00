package org.deltadit.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.deltadit.engine.reference.ReferenceBackend;

/**
 * Runs every op of a backend against the reference backend on small random inputs, so a user can
 * check a new machine or JVM in seconds (the unit tests cover far more sizes).
 */
public final class SelfCheck {
    private SelfCheck() {}

    /** One op's outcome: worst absolute error against the reference and the tolerance it had. */
    public record Result(String op, double maxError, double tolerance) {
        public boolean ok() { return maxError <= tolerance; }
    }

    public static List<Result> run(Backend backend) {
        Backend ref = new ReferenceBackend();
        List<Result> out = new ArrayList<>();
        Tensor x = random(1, 3, 37, 67), w = random(2, 45, 67), b = random(3, 45), g = random(4, 67);
        compare(out, "linear f32", 1e-4, ref, backend, be -> be.linear(x, w, b));
        compare(out, "linear bf16 weights", 1e-4, ref, backend, be -> be.linear(x, w.to(DType.BF16), b));
        compare(out, "linear f16 weights", 1e-4, ref, backend, be -> be.linear(x, w.to(DType.F16), b));
        Tensor constant = sealed(w);
        compare(out, "linear constant", 1e-4, ref, backend, be -> be.linear(x, constant, b));
        compare(out, "linear constant again", 1e-4, ref, backend, be -> be.linear(x, constant, b));
        compare(out, "matmul", 1e-4, ref, backend, be -> be.matmul(x, w.transpose(0, 1)));
        compare(out, "layerNorm", 1e-5, ref, backend, be -> be.layerNorm(x, g, null, 1e-6f));
        compare(out, "rmsNorm", 1e-5, ref, backend, be -> be.rmsNorm(x, g, 1e-6f));
        compare(out, "groupNorm", 1e-5, ref, backend, be -> be.groupNorm(random(5, 2, 8, 5, 7), 4, null, null, 1e-6f));
        compare(out, "gelu tanh", 1e-5, ref, backend, be -> be.gelu(x, true));
        compare(out, "gelu erf", 1e-5, ref, backend, be -> be.gelu(x, false));
        compare(out, "silu", 1e-5, ref, backend, be -> be.silu(x));
        compare(out, "softmax", 1e-6, ref, backend, be -> be.softmax(x));
        compare(out, "add broadcast", 0, ref, backend, be -> be.add(x, g));
        compare(out, "mul broadcast", 0, ref, backend, be -> be.mul(x, random(6, 3, 1, 67)));
        Tensor q = random(7, 2, 3, 41, 24), k = random(8, 2, 3, 53, 24), v = random(9, 2, 3, 53, 24);
        compare(out, "attention", 1e-5, ref, backend, be -> be.attention(q, k, v, null, 0.2f));
        compare(out, "attention masked", 1e-5, ref, backend, be -> be.attention(q, k, v, random(10, 41, 53), 0.2f));
        Tensor img = random(11, 1, 5, 13, 11), kern = random(12, 7, 5, 3, 3);
        compare(out, "conv2d", 1e-4, ref, backend, be -> be.conv2d(img, kern, null, 1, 1));
        compare(out, "conv2d stride 2", 1e-4, ref, backend, be -> be.conv2d(img, kern, null, 2, 0));
        compare(out, "upsample", 0, ref, backend, be -> be.upsampleNearest(img, 2));
        return out;
    }

    private static void compare(List<Result> out, String op, double tol, Backend ref, Backend be, Function<Backend, Tensor> f) {
        float[] e = f.apply(ref).toFloatArray(), a = f.apply(be).toFloatArray();
        double worst = e.length == a.length ? 0 : Double.POSITIVE_INFINITY;
        for (int i = 0; i < Math.min(e.length, a.length); i++) {
            double d = Math.abs((double) e[i] - a[i]);
            worst = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(worst, d);
        }
        out.add(new Result(op, worst, tol));
    }

    /**
     * {@code t}'s storage copied to read-only native memory and viewed the same way (dtype, strides; not INT8):
     * constant, as a loaded checkpoint's weights are, so backends may keep what they derive from it (the cpu
     * backend's packed panels, a device's resident copy).
     */
    public static Tensor sealed(Tensor t) {
        if (t.quant() != null) throw new IllegalArgumentException("sealed: not for INT8 tensors");
        java.lang.foreign.MemorySegment src = t.readSegment();
        java.lang.foreign.MemorySegment seg = java.lang.foreign.Arena.ofAuto().allocate(src.byteSize(), 64).copyFrom(src);
        return Tensor.wrapStrided(seg.asReadOnly(), t.dtype(), t.shape(), t.strides(), t.offset());
    }

    /** Uniform [-1, 1) values from a fixed seed. */
    public static Tensor random(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        long n = 1;
        for (int s : shape) n *= s;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return Tensor.of(v, shape);
    }

    /**
     * Median GFLOP/s of {@code reps} timed C[m,n] = A[m,k]·B[k,n] after a 2 s warm-up, B constant as a model's
     * weights are (a rough figure; JMH gives the real one).
     */
    public static double gemmGflops(Backend be, int m, int k, int n, int reps) {
        Tensor a = random(1, m, k), b = sealed(random(2, k, n)), c = Tensor.zeros(m, n);
        // Warm up long enough for C2 to compile the kernels; before that they run interpreted.
        for (long end = System.nanoTime() + 2_000_000_000L; System.nanoTime() < end; ) be.matmul(a, b, c);
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            be.matmul(a, b, c);
            t[i] = (System.nanoTime() - t0) / 1e9;
        }
        java.util.Arrays.sort(t);
        return 2.0 * m * k * n / t[reps / 2] / 1e9;
    }
}
