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

    private Backend backend;
    private Tensor a, b, c;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        if (p.length != 3) throw new IllegalArgumentException("shape: '" + shape + "' is not MxKxN");
        int m = Integer.parseInt(p[0]), k = Integer.parseInt(p[1]), n = Integer.parseInt(p[2]);
        backend = Backends.select(null, null);
        a = random(1, m, k);
        Tensor w = "nk".equals(layout) ? random(2, n, k).transpose(0, 1) : random(2, k, n);
        DType dt = DType.valueOf(weights);
        if (dt == DType.I8) {
            // per output channel = per column of B: quantize W [N, K] (or Bᵀ) and view it back
            b = "nk".equals(layout) ? org.deltadit.engine.Quant.quantize(w.transpose(0, 1), 0).transpose(0, 1) : org.deltadit.engine.Quant.quantize(w.transpose(0, 1).contiguous(), 0).transpose(0, 1);
        } else {
            b = dt == DType.F32 ? w : (w.isContiguous() ? w.to(dt) : w.transpose(0, 1).to(dt).transpose(0, 1));
        }
        if (constant) b = org.deltadit.engine.SelfCheck.sealed(b);
        c = Tensor.zeros(m, n);
    }

    @Benchmark
    public Tensor gemm() { return backend.matmul(a, b, c); }

    static Tensor random(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        long n = 1;
        for (int s : shape) n *= s;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }
}
