package org.deltadit.bench;

import java.util.concurrent.TimeUnit;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Backends;
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
 * Self-attention of one image, B = 1: {@code shape} is HxLxD (heads, tokens, head size), e.g.
 * 16x256x72 for DiT-XL/2 at 256 px and 16x4096x72 for PixArt-α at 1024 px. One op = one call;
 * GFLOP/s = ops/s × 4·H·L²·D / 1e9 (QKᵀ and PV, two FLOPs per multiply-add).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Ddit.quiet=true"})
public class AttentionBenchmark {
    @Param({"16x256x72", "16x1024x72", "16x4096x72"})
    public String shape;

    private Backend backend;
    private Tensor q, k, v, out;
    private float scale;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        int h = Integer.parseInt(p[0]), l = Integer.parseInt(p[1]), d = Integer.parseInt(p[2]);
        backend = Backends.select(null, null);
        q = GemmBenchmark.random(1, 1, h, l, d);
        k = GemmBenchmark.random(2, 1, h, l, d);
        v = GemmBenchmark.random(3, 1, h, l, d);
        out = Tensor.zeros(1, h, l, d);
        scale = (float) (1 / Math.sqrt(d));
    }

    @Benchmark
    public Tensor attention() { return backend.attention(q, k, v, null, scale, out); }
}
