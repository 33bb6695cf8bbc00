package org.deltadit.engine.cpu;

import java.util.Arrays;
import java.util.Locale;

/**
 * What the GEMM's micro-kernel itself reaches on this machine, beside {@link FmaPeak}: the kernel's loops alone
 * (an MC block of A read in place, packed B panels, each thread on its own data) with B small enough to stay in
 * cache, and with B streamed from memory as a model's weights are (each layer's weights are read once per
 * forward pass, and DiT-XL/2's 1.3 GB pass through every cache). On the 2-core Zen 5 of bench/README.md the
 * first was 93–98 % of the FMA peak and the second 81–87 %: the gap between a GEMM's share of the peak and
 * 100 % is then mostly the memory system, not the kernel.
 */
public final class KernelCeiling {
    private KernelCeiling() {}

    /** Rows of A per pass: an MC block of 256 rows as the GEMM splits it (88 + 88 + 80). */
    static final int ROWS = 88;
    /** B per thread in cache: 8 panels, 1.2 MB at 512 bits (L2 and L3 hold it between passes). */
    static final int CACHED_PANELS = 8;
    /** B streamed, all threads together: well past the last-level caches of the machines this runs on. */
    static final long STREAMED_BYTES = 256L << 20;

    /** GFLOP/s of {@code threads} threads with B in cache and streamed ({@code streamedMb} megabytes a thread). */
    public record Ceiling(int threads, double inCache, double streamed, long streamedMb) {
        public String describe(FmaPeak.Peak peak) {
            return String.format(Locale.ROOT, "micro-kernel: %.1f GFLOP/s (%.0f %% of the peak) with B in cache, %.1f GFLOP/s (%.0f %%) with B streamed from memory (%d MB a thread)",
                    inCache, peak.percent(inCache), streamed, peak.percent(streamed), streamedMb);
        }
    }

    /** Measures both over about {@code seconds} in all (each the best of three rounds, as the peak is). */
    public static Ceiling measure(int threads, double seconds) {
        // at most a quarter of the heap, so a small -Xmx never fails a selfcheck (the figure says how much it streamed)
        return measure(threads, seconds, Math.min(STREAMED_BYTES, Runtime.getRuntime().maxMemory() / 4));
    }

    /** As above, with {@code streamedBytes} of B streamed by all threads together. */
    static Ceiling measure(int threads, double seconds, long streamedBytes) {
        if (threads < 1) throw new IllegalArgumentException("kernel ceiling: " + threads + " threads");
        long panelBytes = (long) Gemm.KC * Gemm.NR * Float.BYTES;
        // whole passes of CACHED_PANELS, at least four of them
        int streamedPanels = (int) Math.max(4, streamedBytes / threads / panelBytes / CACHED_PANELS) * CACHED_PANELS;
        double cached = best(threads, seconds / 2, CACHED_PANELS), streamed = best(threads, seconds / 2, streamedPanels);
        return new Ceiling(threads, cached, streamed, streamedPanels * panelBytes >> 20);
    }

    private static double best(int threads, double seconds, int panels) {
        // each thread's A and B, filled before the rounds (the page faults are not timed); each call takes the next
        // CACHED_PANELS panels ('panels' is a multiple), so with 'panels' past the caches every panel comes from memory
        float[][] a = new float[threads][], b = new float[threads][];
        for (int t = 0; t < threads; t++) {
            a[t] = filled(ROWS * Gemm.KC, t);
            b[t] = filled(panels * Gemm.KC * Gemm.NR, t + 100);
        }
        int step = CACHED_PANELS;
        // compiled before the timed rounds (interpreted, one pass is slow)
        int[] at0 = new int[Gemm.MR];
        float[] tile0 = new float[Gemm.MR * Gemm.NR];
        for (int i = 0; i < 40; i++) Gemm.kernelPass(a[0], ROWS, b[0], i % panels, 1, at0, tile0);
        double best = 0;
        for (int round = 0; round < 3; round++) {
            best = Math.max(best, FmaPeak.together(threads, seconds / 3, t -> {
                int[] at = new int[Gemm.MR];
                float[] tile = new float[Gemm.MR * Gemm.NR];
                int[] next = {0};
                return () -> {
                    long f = Gemm.kernelPass(a[t], ROWS, b[t], next[0], step, at, tile);
                    next[0] = (next[0] + step) % panels;
                    return f;
                };
            }));
        }
        return best;
    }

    /** Small values that keep every sum finite. */
    private static float[] filled(int n, int seed) {
        float[] v = new float[n];
        Arrays.fill(v, 1e-3f * (seed + 1));
        return v;
    }
}
