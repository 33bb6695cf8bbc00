package org.deltadit.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Backends;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One C[M,N] = A[M,K]·B[K,N] per operation, F32 activations; GFLOP/s = ops/s × 2·M·K·N / 1e9.
 * {@code shape} is MxKxN (the DiT-XL/2 linears at 256 px and PixArt-α at 1024 px by default);
 * {@code weights} is B's dtype (F16/BF16 are widened while packing; I8 is weight-only INT8 per output
 * channel, dequantized while packing) and {@code layout} is
 * {@code kn} (B stored [K,N], as torch's x @ w) or {@code nk} (B = Wᵀ with W [N,K], as nn.Linear).
 * {@code constant=true} puts B in read-only native memory, as a loaded checkpoint's weights are: the cpu backend
 * then packs it once and keeps the packed copy (F32 and BF16 by default; {@code -Ddit.cpu.prepack}), as in a model run.
 * {@code copies} &gt; 1 cycles through that many copies of B, one per call: with enough of them each call reads its
 * weight from memory, as every linear of a forward pass does (DiT-XL/2's 28 blocks pass 1.3–2.7 GB of weights
 * through the caches), where one B repeated stays in cache when it fits.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Ddit.quiet=true"})
public class GemmBenchmark {
    @Param({"256x1152x3456", "256x1152x1152", "256x1152x4608", "256x4608x1152", "4096x1152x3456", "4096x4608x1152"})
    public String shape;

    @Param({"F32"})
    public String weights;

    @Param({"kn"})
    public String layout;

    @Param({"false"})
    public boolean constant;

    @Param({"1"})
    public int copies;

    private Backend backend;
    private Tensor a, c;
    private Tensor[] bs;
    private int next;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        if (p.length != 3) throw new IllegalArgumentException("shape: '" + shape + "' is not MxKxN");
        int m = Integer.parseInt(p[0]), k = Integer.parseInt(p[1]), n = Integer.parseInt(p[2]);
        backend = Backends.select(null, null);
        a = random(1, m, k);
        if (copies < 1) throw new IllegalArgumentException("copies: " + copies + " (at least 1)");
        bs = new Tensor[copies];
        for (int i = 0; i < copies; i++) bs[i] = weight(k, n);
        c = Tensor.zeros(m, n);
        for (Tensor b : bs) backend.matmul(a, b, c); // a constant B is packed at its first call: not timed
    }

    @Benchmark
    public Tensor gemm() {
        Tensor w = bs[next];
        next = next + 1 == bs.length ? 0 : next + 1;
        return backend.matmul(a, w, c);
    }

    /** One B of the chosen dtype, layout and constness (the same values every call). */
    private Tensor weight(int k, int n) {
        Tensor w = "nk".equals(layout) ? random(2, n, k).transpose(0, 1) : random(2, k, n), b;
        DType dt = DType.valueOf(weights);
        if (dt == DType.I8) {
            // per output channel = per column of B: quantize W [N, K] (or Bᵀ) and view it back
            b = "nk".equals(layout) ? org.deltadit.engine.Quant.quantize(w.transpose(0, 1), 0).transpose(0, 1) : org.deltadit.engine.Quant.quantize(w.transpose(0, 1).contiguous(), 0).transpose(0, 1);
        } else {
            b = dt == DType.F32 ? w : (w.isContiguous() ? w.to(dt) : w.transpose(0, 1).to(dt).transpose(0, 1));
        }
        return constant ? org.deltadit.engine.SelfCheck.sealed(b) : b;
    }

    static Tensor random(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        long n = 1;
        for (int s : shape) n *= s;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }
}
