package org.deltadit.cache;

import static org.deltadit.engine.InvalidParameter.require;

/**
 * Which blocks run at step s of T (DESIGN.md §5). Block numbers are 0-based and ranges half-open.
 * A policy only decides; {@link Plan} works out what full steps must record for later cached steps.
 * Each record checks its own components when built ({@link org.deltadit.engine.InvalidParameter}
 * names the component) and {@link #check} checks them against a run's steps and depth.
 */
public sealed interface CachePolicy extends java.io.Serializable { // serialisable: a cluster ships rows of policies to its executors

    /** The plan of step s (1 = noisiest) of T for a stack of {@code depth} blocks. */
    StepPlan step(int s, int steps, int depth);

    /** Checks the parameters against a run; a bad one is an InvalidParameter naming it. */
    void check(int steps, int depth);

    /** One line for summaries, e.g. "delta-dit b=12 N=2 Nc=21". */
    String describe();

    /** The default interval N: a full step every second step (the paper's). */
    int DEFAULT_INTERVAL = 2;

    /** Every block at every step. */
    record None() implements CachePolicy {
        public StepPlan step(int s, int steps, int depth) { return StepPlan.full(s, depth); }

        public void check(int steps, int depth) {}

        public String describe() { return "none"; }
    }

    /**
     * Δ-DiT: full when (s − 1) mod N = 0; otherwise Δ-Cache on the rear range [N_b − N_c, N_b) while
     * s ≤ b (outline stage: deep blocks cached) and on the front range [0, N_c) after. {@code reverse}
     * swaps the two (paper Table 5).
     */
    record DeltaDit(int b, int interval, int cachedBlocks, boolean reverse) implements CachePolicy {
        public DeltaDit {
            require(b >= 0, "b", b + " (must be at least 0)");
            requireInterval(interval);
            require(cachedBlocks >= 0, "cachedBlocks", cachedBlocks + " (must be at least 0)");
        }

        /** The paper's defaults: b = round(0.6·T) (12 of 20), N = 2, N_c = ⌈0.75·depth⌉ (21 of 28). */
        public static DeltaDit defaults(int steps, int depth) {
            return new DeltaDit(defaultB(steps), DEFAULT_INTERVAL, defaultCachedBlocks(depth), false);
        }

        /** b = round(0.6·T): the outline stage is the first 60 % of the steps (12 of 20). */
        public static int defaultB(int steps) { return (int) Math.round(0.6 * steps); }

        /** N_c = ⌈0.75·depth⌉: three quarters of the blocks (21 of 28); also Faster Diffusion's default I. */
        public static int defaultCachedBlocks(int depth) { return (int) Math.ceil(0.75 * depth); }

        public StepPlan step(int s, int steps, int depth) {
            if ((s - 1) % interval == 0 || cachedBlocks == 0) return StepPlan.full(s, depth);
            boolean rear = (s <= b) != reverse;
            return rear ? StepPlan.cached(s, StepPlan.Mode.DELTA, depth - cachedBlocks, depth, depth)
                        : StepPlan.cached(s, StepPlan.Mode.DELTA, 0, cachedBlocks, depth);
        }

        public void check(int steps, int depth) {
            require(b <= steps, "b", b + " outside [0, " + steps + "] (the steps)");
            require(cachedBlocks <= depth, "cachedBlocks", cachedBlocks + " outside [0, " + depth + "] (the blocks)");
        }

        public String describe() { return "delta-dit b=" + b + " N=" + interval + " Nc=" + cachedBlocks + (reverse ? " reversed" : ""); }
    }

    /** Δ-Cache on a fixed range [from, to) at every cached step. */
    record DeltaCache(int from, int to, int interval) implements CachePolicy {
        public DeltaCache {
            requireRange(from, to);
            requireInterval(interval);
        }

        public StepPlan step(int s, int steps, int depth) {
            return (s - 1) % interval == 0 ? StepPlan.full(s, depth) : StepPlan.cached(s, StepPlan.Mode.DELTA, from, to, depth);
        }

        public void check(int steps, int depth) { checkRange(from, to, depth); }

        public String describe() { return "delta-cache [" + from + "," + to + ") N=" + interval; }
    }

    /**
     * Δ-Cache on [from, to) with a TaylorSeer-style first-order forecast (Liu et al. 2025): a cached step
     * s adds Δ̂(s) = Δ(f₂) + (Δ(f₂) − Δ(f₁))·(s − f₂)/(f₂ − f₁) from the two latest full steps f₁ < f₂,
     * instead of Δ(f₂) as it is; with one full step so far it adds Δ(f₂). Same MACs as Δ-Cache.
     */
    record Forecast(int from, int to, int interval) implements CachePolicy {
        public Forecast {
            requireRange(from, to);
            requireInterval(interval);
        }

        public StepPlan step(int s, int steps, int depth) {
            return (s - 1) % interval == 0 ? StepPlan.full(s, depth) : StepPlan.cached(s, StepPlan.Mode.FORECAST, from, to, depth);
        }

        public void check(int steps, int depth) { checkRange(from, to, depth); }

        public String describe() { return "forecast [" + from + "," + to + ") N=" + interval; }
    }

    /** Faster-Diffusion-style feature reuse: cached steps take h_I from the latest full step and run blocks I..N_b−1. */
    record FasterDiffusion(int block, int interval) implements CachePolicy {
        public FasterDiffusion {
            require(block >= 1, "block", block + " (must be at least 1: I is the first block that runs)");
            requireInterval(interval);
        }

        public StepPlan step(int s, int steps, int depth) {
            return (s - 1) % interval == 0 ? StepPlan.full(s, depth) : StepPlan.cached(s, StepPlan.Mode.REUSE, 0, block, depth);
        }

        public void check(int steps, int depth) {
            require(block <= depth, "block", block + " outside [1, " + depth + "] (the blocks)");
        }

        public String describe() { return "faster-diffusion I=" + block + " N=" + interval; }
    }

    /**
     * First-Block Cache (ParaAttention's FBCache, cache-dit's DBCache with one front block): decided at run time
     * for each row of the batch — each image in each guidance branch — from the relative L1 change of block 0's
     * residual against the one of the row's last computed step; under {@code threshold}, the row skips the other
     * blocks and adds the residual they made then. The first and the last step always compute. Its static plan
     * is full at every step; {@link GuidedDenoiser} makes the decisions and counts the MACs of what ran.
     */
    record FirstBlock(double threshold) implements CachePolicy {
        public FirstBlock {
            require(threshold >= 0 && threshold < 10, "threshold", threshold + " (0 ≤ threshold < 10; 0 computes every step)");
        }

        public StepPlan step(int s, int steps, int depth) { return StepPlan.full(s, depth); }

        public void check(int steps, int depth) {}

        public String describe() { return "fbcache threshold=" + threshold; }
    }

    /**
     * TeaCache (Liu et al. 2024), decided at run time per row like {@link FirstBlock}: the relative L1 change of
     * block 0's modulated input between consecutive steps, rescaled by the polynomial {@code coefficients}
     * (highest power first; calibrated per model — the default [1, 0] leaves it as measured), is summed over the
     * steps a row skips; the row skips every block while the sum stays under {@code threshold}, adding the
     * residual of its last computed step. The first and the last step compute. Its static plan is full.
     */
    record TeaCache(double threshold, double[] coefficients) implements CachePolicy {
        public TeaCache {
            require(threshold >= 0 && threshold < 10, "threshold", threshold + " (0 ≤ threshold < 10; 0 computes every step)");
            require(coefficients != null && coefficients.length >= 1, "coefficients", "a polynomial needs at least one coefficient");
            coefficients = coefficients.clone();
        }

        /** The polynomial at x (Horner). */
        public double rescale(double x) {
            double v = 0;
            for (double c : coefficients) v = v * x + c;
            return v;
        }

        public StepPlan step(int s, int steps, int depth) { return StepPlan.full(s, depth); }

        public void check(int steps, int depth) {}

        public String describe() { return "teacache threshold=" + threshold + (coefficients.length == 2 && coefficients[0] == 1 && coefficients[1] == 0 ? "" : " poly=" + java.util.Arrays.toString(coefficients)); }

        @Override public boolean equals(Object o) { return o instanceof TeaCache t && t.threshold == threshold && java.util.Arrays.equals(t.coefficients, coefficients); }

        @Override public int hashCode() { return Double.hashCode(threshold) * 31 + java.util.Arrays.hashCode(coefficients); }
    }

    /**
     * Our stage-aligned adaptive Δ-Cache, decided at run time per row (image × guidance branch) like
     * {@link FirstBlock}: Δ-DiT's stages — the rear {@code cachedBlocks} blocks cached while s ≤ b (outline),
     * the front ones after (details) — with the refresh decided per step from a measured change instead of
     * every N-th step. Outline stage: the front blocks run for every row, and a row reuses the rear range's Δ
     * while the relative L1 change of the front blocks' residual since its last computed step stays under
     * {@code threshold}. Detail stage: a row reuses the front range's Δ while the relative L1 change of block
     * 0's modulated input since its last computed step stays under it (so does the outline stage when N_c is the
     * whole stack and no front block runs first); the rear blocks run for every row.
     * At most {@code maxSkips} reuses in a row (a bound on staleness); the first and last steps compute, and so
     * does the first step of the detail stage where the span changes there (N_c below the depth). With {@code forecast}, a reused Δ is extrapolated from the row's two
     * latest computed steps of the same stage, as {@link Forecast} does (TaylorSeer's first order). One signal
     * and one Δ per row (two with the forecast): memory bounded by the batch.
     * {@code b} and {@code cachedBlocks} of −1 take Δ-DiT's defaults (round(0.6·T), ⌈0.75·depth⌉).
     */
    record AdaptiveDelta(int b, int cachedBlocks, double threshold, int maxSkips, boolean forecast) implements CachePolicy {
        public AdaptiveDelta {
            require(b >= -1, "b", b + " (at least 0; −1 for round(0.6·T))");
            require(cachedBlocks >= 1 || cachedBlocks == -1, "cachedBlocks", cachedBlocks + " (at least 1; −1 for ⌈0.75·depth⌉)");
            require(threshold >= 0 && threshold < 10, "threshold", threshold + " (0 ≤ threshold < 10; 0 computes every step)");
            require(maxSkips >= 1, "maxSkips", maxSkips + " (at least 1)");
        }

        /** The outline stage's last step for a run of {@code steps}. */
        public int boundary(int steps) { return b >= 0 ? b : DeltaDit.defaultB(steps); }

        /** The cached range's size for a stack of {@code depth}. */
        public int cached(int depth) { return cachedBlocks >= 1 ? cachedBlocks : DeltaDit.defaultCachedBlocks(depth); }

        public StepPlan step(int s, int steps, int depth) { return StepPlan.full(s, depth); }

        public void check(int steps, int depth) {
            require(boundary(steps) <= steps, "b", b + " outside [0, " + steps + "] (the steps)");
            require(cached(depth) <= depth, "cachedBlocks", cachedBlocks + " outside [1, " + depth + "] (the blocks)");
        }

        public String describe() {
            return "adaptive-delta b=" + (b >= 0 ? b : "auto") + " Nc=" + (cachedBlocks >= 1 ? cachedBlocks : "auto") + " threshold=" + threshold + " max_skips=" + maxSkips
                    + (forecast ? " forecast" : "");
        }
    }

    /** Whether {@code p} decides at run time, per row (its plan is full; the denoiser decides and counts). */
    static boolean runTime(CachePolicy p) {
        return p instanceof FirstBlock || p instanceof TeaCache || p instanceof AdaptiveDelta;
    }

    /**
     * MagCache (Ma et al. 2025): per-step magnitude ratios γ_s of the whole stack's residual, measured once
     * on a calibration run ({@code dit tune}), decide which steps skip every block and add the residual of the
     * last computed step: after the first ⌈0.2·T⌉ steps, a step skips while the accumulated error
     * Σ|1 − Πγ| over the skipped run stays under {@code threshold} and at most {@code maxSkips} steps in a row
     * are skipped; otherwise it computes and the accumulation restarts. The plan is fixed before sampling
     * (Δ over all blocks on skipped steps), so its MACs are exact.
     */
    record MagCache(double threshold, int maxSkips, double[] ratios) implements CachePolicy {
        public MagCache {
            require(threshold >= 0 && threshold < 100, "threshold", threshold + " (0 ≤ threshold < 100)");
            require(maxSkips >= 1, "maxSkips", maxSkips + " (at least 1)");
            require(ratios != null && ratios.length >= 1, "ratios", "MagCache needs the calibrated ratio of every step (dit tune measures them)");
            for (double r : ratios) require(r > 0 && Double.isFinite(r), "ratios", r + " (ratios are positive)");
            ratios = ratios.clone();
        }

        public StepPlan step(int s, int steps, int depth) { return skips(steps)[s - 1] ? StepPlan.cached(s, StepPlan.Mode.DELTA, 0, depth, depth) : StepPlan.full(s, depth); }

        /** Which steps skip, in order. */
        boolean[] skips(int steps) {
            boolean[] out = new boolean[steps];
            double ratio = 1, err = 0;
            int run = 0, retain = (int) Math.ceil(0.2 * steps);
            for (int s = 1; s <= steps; s++) {
                if (s <= retain || s == steps) continue;
                ratio *= ratios[s - 1];
                err += Math.abs(1 - ratio);
                run++;
                if (err < threshold && run <= maxSkips) out[s - 1] = true;
                else {
                    ratio = 1;
                    err = 0;
                    run = 0;
                }
            }
            return out;
        }

        public void check(int steps, int depth) {
            require(ratios.length == steps, "ratios", "calibrated for " + ratios.length + " steps, the run has " + steps + " (tune it for this step count)");
        }

        public String describe() { return "magcache threshold=" + threshold + " K=" + maxSkips; }

        @Override public boolean equals(Object o) { return o instanceof MagCache m && m.threshold == threshold && m.maxSkips == maxSkips && java.util.Arrays.equals(m.ratios, ratios); }

        @Override public int hashCode() { return java.util.Objects.hash(threshold, maxSkips, java.util.Arrays.hashCode(ratios)); }
    }

    /**
     * DeepCache (Ma et al. 2024) on a U-Net: full steps keep the state entering block {@code to}; cached steps
     * run the shallow blocks [0, from) — whose skips the blocks after the span need — and continue from the
     * kept state, so the deep blocks [from, to) run only on full steps.
     */
    record DeepCache(int from, int to, int interval) implements CachePolicy {
        public DeepCache {
            requireRange(from, to);
            requireInterval(interval);
        }

        public StepPlan step(int s, int steps, int depth) {
            return (s - 1) % interval == 0 ? StepPlan.full(s, depth) : StepPlan.cached(s, StepPlan.Mode.DEEP, from, to, depth);
        }

        public void check(int steps, int depth) { checkRange(from, to, depth); }

        public String describe() { return "deepcache [" + from + "," + to + ") N=" + interval; }
    }

    /** Block skipping without compensation (h_j := h_i), paper Fig. 4a. */
    record Skip(int from, int to, int interval) implements CachePolicy {
        public Skip {
            requireRange(from, to);
            requireInterval(interval);
        }

        public StepPlan step(int s, int steps, int depth) {
            return (s - 1) % interval == 0 ? StepPlan.full(s, depth) : StepPlan.cached(s, StepPlan.Mode.SKIP, from, to, depth);
        }

        public void check(int steps, int depth) { checkRange(from, to, depth); }

        public String describe() { return "skip [" + from + "," + to + ") N=" + interval; }
    }

    /**
     * T-GATE (Zhang et al. 2024) for cross-attention models: steps 1..gate run as usual, and the gate
     * step keeps each block's cross-attention output (averaged over the guidance branches); later steps
     * reuse it and run one branch without guidance, as the reference PixArt pipeline does.
     */
    record TGate(int gate) implements CachePolicy {
        public TGate {
            require(gate >= 1, "gate", gate + " (must be at least 1)");
        }

        /** The gate at round(0.4·T) (8 of 20), at least 1. */
        public static TGate defaults(int steps) { return new TGate(Math.max(1, (int) Math.round(0.4 * steps))); }

        public StepPlan step(int s, int steps, int depth) { return s <= gate ? StepPlan.full(s, depth) : StepPlan.gated(s, depth); }

        public void check(int steps, int depth) {
            require(gate <= steps, "gate", gate + " outside [1, " + steps + "] (the steps)");
        }

        public String describe() { return "tgate m=" + gate; }
    }

    private static void requireInterval(int n) { require(n >= 1, "interval", n + " (must be at least 1)"); }

    private static void requireRange(int from, int to) {
        require(from >= 0 && from < to, "range", from + ":" + to + " is empty or negative (0-based, half-open)");
    }

    private static void checkRange(int from, int to, int depth) {
        require(to <= depth, "range", from + ":" + to + " is outside the " + depth + " blocks (0-based, half-open)");
    }
}
