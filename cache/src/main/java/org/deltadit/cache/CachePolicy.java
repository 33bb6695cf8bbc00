package org.deltadit.cache;

/**
 * Which blocks run at step s of T (DESIGN.md §5). Block numbers are 0-based and ranges half-open.
 * A policy only decides; {@link Plan} works out what full steps must record for later cached steps.
 */
public sealed interface CachePolicy {

    /** The plan of step s (1 = noisiest) of T for a stack of {@code depth} blocks. */
    StepPlan step(int s, int steps, int depth);

    /** Checks the parameters against a run; bad ones are an IllegalArgumentException naming the option. */
    void check(int steps, int depth);

    /** One line for summaries, e.g. "delta-dit b=12 N=2 Nc=21". */
    String describe();

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
        public StepPlan step(int s, int steps, int depth) {
            if ((s - 1) % interval == 0 || cachedBlocks == 0) return StepPlan.full(s, depth);
            boolean rear = (s <= b) != reverse;
            return rear ? StepPlan.cached(s, StepPlan.Mode.DELTA, depth - cachedBlocks, depth, depth)
                        : StepPlan.cached(s, StepPlan.Mode.DELTA, 0, cachedBlocks, depth);
        }

        public void check(int steps, int depth) {
            if (b < 0 || b > steps) throw new IllegalArgumentException("--b: " + b + " outside [0, " + steps + "] (the steps)");
            checkInterval(interval);
            if (cachedBlocks < 0 || cachedBlocks > depth) throw new IllegalArgumentException("--cached-blocks: " + cachedBlocks + " outside [0, " + depth + "] (the blocks)");
        }

        public String describe() { return "delta-dit b=" + b + " N=" + interval + " Nc=" + cachedBlocks + (reverse ? " reversed" : ""); }
    }

    /** Δ-Cache on a fixed range [from, to) at every cached step. */
    record DeltaCache(int from, int to, int interval) implements CachePolicy {
        public StepPlan step(int s, int steps, int depth) {
            return (s - 1) % interval == 0 ? StepPlan.full(s, depth) : StepPlan.cached(s, StepPlan.Mode.DELTA, from, to, depth);
        }

        public void check(int steps, int depth) {
            checkRange(from, to, depth);
            checkInterval(interval);
        }

        public String describe() { return "delta-cache [" + from + "," + to + ") N=" + interval; }
    }

    /** Faster-Diffusion-style feature reuse: cached steps take h_I from the latest full step and run blocks I..N_b−1. */
    record FasterDiffusion(int block, int interval) implements CachePolicy {
        public StepPlan step(int s, int steps, int depth) {
            return (s - 1) % interval == 0 ? StepPlan.full(s, depth) : StepPlan.cached(s, StepPlan.Mode.REUSE, 0, block, depth);
        }

        public void check(int steps, int depth) {
            if (block < 1 || block > depth) throw new IllegalArgumentException("--cached-blocks: " + block + " outside [1, " + depth + "] for faster-diffusion");
            checkInterval(interval);
        }

        public String describe() { return "faster-diffusion I=" + block + " N=" + interval; }
    }

    /** Block skipping without compensation (h_j := h_i), paper Fig. 4a. */
    record Skip(int from, int to, int interval) implements CachePolicy {
        public StepPlan step(int s, int steps, int depth) {
            return (s - 1) % interval == 0 ? StepPlan.full(s, depth) : StepPlan.cached(s, StepPlan.Mode.SKIP, from, to, depth);
        }

        public void check(int steps, int depth) {
            checkRange(from, to, depth);
            checkInterval(interval);
        }

        public String describe() { return "skip [" + from + "," + to + ") N=" + interval; }
    }

    /**
     * T-GATE (Zhang et al. 2024) for cross-attention models: steps 1..gate run as usual, and at the gate
     * step each block keeps its cross-attention output (averaged over the guidance branches); later
     * steps reuse it and run one unguided branch, as the reference PixArt pipeline does. {@code guided}:
     * whether the run uses guidance (for the MAC count of the single-branch steps).
     */
    record TGate(int gate, boolean guided) implements CachePolicy {
        public StepPlan step(int s, int steps, int depth) { return s <= gate ? StepPlan.full(s, depth) : StepPlan.gated(s, depth); }

        public void check(int steps, int depth) {
            if (gate < 1 || gate > steps) throw new IllegalArgumentException("--gate-step: " + gate + " outside [1, " + steps + "] (the steps)");
        }

        public String describe() { return "tgate m=" + gate; }
    }

    private static void checkInterval(int n) {
        if (n < 1) throw new IllegalArgumentException("--interval: " + n + " (must be at least 1)");
    }

    private static void checkRange(int from, int to, int depth) {
        if (from < 0 || to > depth || from >= to) {
            throw new IllegalArgumentException("--range: " + from + ":" + to + " is empty or outside the " + depth + " blocks (0-based, half-open)");
        }
    }
}
