package org.deltadit.engine.cpu;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import java.util.function.IntFunction;
import java.util.function.LongSupplier;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * This machine's floating-point limit, measured in-process: twelve independent FMA chains per thread at
 * the engine's vector width, every thread at once. Every speed figure is quoted as a share of it, since
 * machines here differ (one peaked at ~210 GFLOP/s on 2 threads, another at ~426). The chains are a
 * whole method called again and again, with the accumulators in locals: a loop compiled on-stack
 * (OSR) or vectors held in an array measured ~35 % low on 2 threads against the same loop in C.
 */
public final class FmaPeak {
    private FmaPeak() {}

    /** The peak of {@code threads} threads at {@code bits}-bit vectors (0: scalar), in GFLOP/s (one FMA = 2 FLOP). */
    public record Peak(int threads, int bits, double gflops) {
        public String describe() {
            return String.format(Locale.ROOT, "%.1f GFLOP/s on %d thread%s (FMA, %s)", gflops, threads, threads == 1 ? "" : "s", bits == 0 ? "scalar" : bits + "-bit vectors");
        }

        /** {@code gflops} as a percentage of this peak. */
        public double percent(double measured) { return 100 * measured / gflops; }
    }

    private static final long ITERS = 200_000;

    /** FLOPs of one {@link #chunk} call. */
    private static long flopsPerChunk() { return 2L * 12 * ITERS * (VectorConfig.VEC ? VectorConfig.LANES : 1); }

    /** Measures the peak of {@code threads} threads over about {@code seconds} (best of three rounds). */
    public static Peak measure(int threads, double seconds) {
        if (threads < 1) throw new IllegalArgumentException("peak: " + threads + " threads");
        for (int i = 0; i < 300; i++) chunk(2_000, i); // compiled as a method before the timed rounds
        double best = 0;
        for (int round = 0; round < 3; round++) best = Math.max(best, round(threads, seconds / 3));
        return new Peak(threads, VectorConfig.VEC ? VectorConfig.S.vectorBitSize() : 0, best);
    }

    private static double round(int threads, double seconds) {
        return together(threads, seconds, t -> {
            float[] sum = {0};
            long[] n = {0};
            return () -> {
                sum[0] += chunk(ITERS, n[0]++);
                if (Float.isNaN(sum[0])) throw new IllegalStateException("peak: the chains overflowed");
                return flopsPerChunk();
            };
        });
    }

    /**
     * Runs {@code work}'s call for each of {@code threads} platform threads, all started at once and each calling
     * its own again and again for about {@code seconds}; returns the FLOPs they reported per second, in GFLOP/s.
     */
    static double together(int threads, double seconds, IntFunction<LongSupplier> work) {
        CyclicBarrier go = new CyclicBarrier(threads + 1);
        long[] flops = new long[threads];
        long[] deadline = new long[1];
        Throwable[] failed = new Throwable[1];
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int me = t;
            LongSupplier call = work.apply(t);
            ts[t] = Thread.ofPlatform().daemon().start(() -> {
                try {
                    go.await();
                    long f = 0;
                    do {
                        f += call.getAsLong();
                    } while (System.nanoTime() < deadline[0]);
                    flops[me] = f;
                } catch (Exception | Error e) {
                    synchronized (failed) {
                        failed[0] = e;
                    }
                }
            });
        }
        long t0 = System.nanoTime();
        deadline[0] = t0 + (long) (seconds * 1e9);
        try {
            go.await();
            for (Thread t : ts) t.join();
        } catch (Exception e) {
            throw new IllegalStateException("peak: " + e, e);
        }
        double dt = (System.nanoTime() - t0) / 1e9;
        synchronized (failed) {
            if (failed[0] instanceof IllegalStateException e) throw e;
            if (failed[0] != null) throw new IllegalStateException("peak: " + failed[0], failed[0]);
        }
        long total = 0;
        for (long f : flops) total += f;
        return total / dt / 1e9;
    }

    /** Twelve independent chains a = a·b + c for {@code iters} rounds; returns their sum so nothing is dead code. */
    static float chunk(long iters, float seed) {
        if (!VectorConfig.VEC) {
            float b = 1.0000001f, c = 1e-7f, a0 = seed, a1 = seed + 1, a2 = seed + 2, a3 = seed + 3, a4 = seed + 4, a5 = seed + 5, a6 = seed + 6, a7 = seed + 7,
                    a8 = seed + 8, a9 = seed + 9, a10 = seed + 10, a11 = seed + 11;
            for (long k = 0; k < iters; k++) {
                a0 = Math.fma(a0, b, c); a1 = Math.fma(a1, b, c); a2 = Math.fma(a2, b, c); a3 = Math.fma(a3, b, c);
                a4 = Math.fma(a4, b, c); a5 = Math.fma(a5, b, c); a6 = Math.fma(a6, b, c); a7 = Math.fma(a7, b, c);
                a8 = Math.fma(a8, b, c); a9 = Math.fma(a9, b, c); a10 = Math.fma(a10, b, c); a11 = Math.fma(a11, b, c);
            }
            return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        }
        FloatVector b = FloatVector.broadcast(VectorConfig.S, 1.0000001f), c = FloatVector.broadcast(VectorConfig.S, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(VectorConfig.S, seed), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3), a4 = a0.add(4), a5 = a0.add(5),
                a6 = a0.add(6), a7 = a0.add(7), a8 = a0.add(8), a9 = a0.add(9), a10 = a0.add(10), a11 = a0.add(11);
        for (long k = 0; k < iters; k++) {
            a0 = a0.fma(b, c); a1 = a1.fma(b, c); a2 = a2.fma(b, c); a3 = a3.fma(b, c); a4 = a4.fma(b, c); a5 = a5.fma(b, c);
            a6 = a6.fma(b, c); a7 = a7.fma(b, c); a8 = a8.fma(b, c); a9 = a9.fma(b, c); a10 = a10.fma(b, c); a11 = a11.fma(b, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11).reduceLanes(VectorOperators.ADD);
    }

    /** CPU model, cores and JVM, for the line beside every figure. */
    public static String machine() {
        String cpu = System.getProperty("os.arch");
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux: the architecture alone
        }
        return cpu + ", " + Runtime.getRuntime().availableProcessors() + " cores, " + VectorConfig.describe() + ", " + System.getProperty("java.vm.name") + " " + Runtime.version();
    }
}
