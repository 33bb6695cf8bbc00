package org.deltadit.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Backends;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.cpu.FmaPeak;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

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

    /**
     * Where {@link GemmReport} asks for it ({@value #PEAKS_PROPERTY}, a file): after each measured iteration the fork
     * measures the FMA peak for {@value #PAIRED_PEAK_SECONDS} s and appends one line, {@link #key} and the peak, so
     * that each iteration has a peak measured seconds from it. On a shared machine a neighbour's burst can halve the
     * peak within a minute (bench/README.md: four processes of one script measured 441, 445, 433 and 225 GFLOP/s),
     * and one peak for a whole table then misstates every shape timed in another minute.
     */
    @TearDown(Level.Iteration)
    public void peakAfter(IterationParams iteration) {
        String file = System.getProperty(PEAKS_PROPERTY);
        if (file == null || iteration.getType() != IterationType.MEASUREMENT) return;
        double peak = FmaPeak.measure(backend.threads(), PAIRED_PEAK_SECONDS).gflops();
        try {
            Files.writeString(Path.of(file), key() + "\t" + String.format(Locale.ROOT, "%.3f", peak) + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("paired peaks: " + file, e);
        }
    }

    static final String PEAKS_PROPERTY = "dit.bench.peaks";
    static final double PAIRED_PEAK_SECONDS = 0.6;

    /** This trial's parameters, as {@link GemmReport} matches them to JMH's results. */
    String key() { return key(shape, weights, layout, String.valueOf(constant), String.valueOf(copies)); }

    static String key(String shape, String weights, String layout, String constant, String copies) {
        return String.join(" ", shape, weights, layout, constant, copies);
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
