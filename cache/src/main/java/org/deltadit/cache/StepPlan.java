package org.deltadit.cache;

import java.util.List;

/**
 * What happens at one step: every block runs (FULL), or blocks [from, to) are replaced —
 * DELTA: h_to := h_from + Δ[from, to) from the latest full step; REUSE: h_to := h_to of the latest
 * full step (blocks before it are skipped too, from = 0); SKIP: h_to := h_from; GATED (T-GATE): every
 * block runs its self-attention and MLP but takes its cross-attention output from the latest full
 * step, and the step runs one guidance branch ({@link #singleBranch}); FORECAST: as DELTA, with
 * Δ[from, to) extrapolated to this step from the two latest full steps (TaylorSeer's first order). A full step lists what it must
 * record for the cached steps that follow it ({@code records}).
 */
public record StepPlan(int step, Mode mode, int from, int to, int depth, List<Range> records) {

    public enum Mode { FULL, DELTA, REUSE, SKIP, GATED, FORECAST, DEEP }

    /** A block range [from, to); for REUSE only {@code to} matters (h_to is kept); GATED keeps blocks [from, to)'s cross-attention. */
    public record Range(Mode mode, int from, int to) {}

    static StepPlan full(int s, int depth) { return new StepPlan(s, Mode.FULL, 0, 0, depth, List.of()); }

    static StepPlan cached(int s, Mode mode, int from, int to, int depth) { return new StepPlan(s, mode, from, to, depth, List.of()); }

    StepPlan withRecords(List<Range> r) { return new StepPlan(step, mode, from, to, depth, List.copyOf(r)); }

    static StepPlan gated(int s, int depth) { return new StepPlan(s, Mode.GATED, 0, depth, depth, List.of()); }

    public boolean full() { return mode == Mode.FULL; }

    /** Whether a guided run evaluates only one branch here, unguided (T-GATE after the gate). */
    public boolean singleBranch() { return mode == Mode.GATED; }

    /** Blocks that actually run at this step. */
    public int blocksRun() { return full() || mode == Mode.GATED ? depth : depth - (to - from); }

    /** The range this cached step takes from the cache (null for full and skip steps). */
    public Range uses() { return mode == Mode.DELTA || mode == Mode.REUSE || mode == Mode.GATED || mode == Mode.FORECAST || mode == Mode.DEEP ? new Range(mode, from, to) : null; }

    /** "full", "Δ[21,28)", "reuse h14", "skip [3,9)", "gated" — for plan tables. */
    public String label() {
        return switch (mode) {
            case FULL -> "full";
            case DELTA -> "Δ[" + from + "," + to + ")";
            case REUSE -> "reuse h" + to;
            case SKIP -> "skip [" + from + "," + to + ")";
            case GATED -> "gated";
            case FORECAST -> "Δ̂[" + from + "," + to + ")";
            case DEEP -> "deep h" + to + " after [0," + from + ")";
        };
    }
}
