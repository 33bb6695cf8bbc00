package org.deltadit.cache;

import java.util.HashMap;
import java.util.Map;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;

/**
 * What full steps leave for cached steps: Δ[i, j) = h_j − h_i, or h_I for feature reuse, each a
 * [rows, N, D] tensor, so every sample and guidance branch (a row) keeps its own state. F32 by
 * default; BF16 halves the memory at a small cost in accuracy.
 */
public final class DeltaStore {
    private final Map<StepPlan.Range, Tensor> entries = new HashMap<>();
    /** For forecast ranges: the entry before the latest, and the steps both were recorded at. */
    private final Map<StepPlan.Range, Tensor> previous = new HashMap<>();
    private final Map<StepPlan.Range, int[]> recordedAt = new HashMap<>();
    private final boolean bf16;
    private long peakBytes;
    private int hits;

    public DeltaStore(boolean bf16) { this.bf16 = bf16; }

    void put(StepPlan.Range r, Tensor t) { put(r, t, 0); }

    /** Records {@code t} for {@code r} at step {@code step}; a forecast range keeps the entry it replaces. */
    void put(StepPlan.Range r, Tensor t, int step) {
        Tensor old = entries.put(r, bf16 ? t.to(DType.BF16) : t);
        if (r.mode() == StepPlan.Mode.FORECAST) {
            int[] at = recordedAt.get(r);
            if (old != null) previous.put(r, old);
            recordedAt.put(r, new int[] {at == null ? -1 : at[1], step});
        }
        long now = bytes();
        if (now > peakBytes) peakBytes = now;
    }

    /** Drops every entry a full step does not record again: cached steps only use the latest full step's. */
    void retainOnly(java.util.Collection<StepPlan.Range> keep) {
        entries.keySet().retainAll(keep);
        previous.keySet().retainAll(keep);
        recordedAt.keySet().retainAll(keep);
    }

    /** The entry as F32; a miss is a bug in the plan, not bad input. */
    Tensor take(StepPlan.Range r) {
        Tensor t = entries.get(r);
        if (t == null) throw new IllegalStateException("cache: nothing stored for " + r + " (the plan records it at a full step)");
        hits++;
        return t.dtype() == DType.F32 ? t : t.to(DType.F32);
    }

    /**
     * The forecast Δ̂ of a FORECAST range at step {@code s}: Δ(f₂) + (Δ(f₂) − Δ(f₁))·(s − f₂)/(f₂ − f₁) from the
     * two latest recordings f₁ < f₂; Δ(f₂) itself while there is only one.
     */
    Tensor forecast(StepPlan.Range r, int s, org.deltadit.engine.Backend be) {
        Tensor latest = take(r), prev = previous.get(r);
        int[] at = recordedAt.get(r);
        if (prev == null || at == null || at[0] < 0 || at[1] <= at[0]) return latest;
        return extrapolate(latest, at[1], prev.dtype() == DType.F32 ? prev : prev.to(DType.F32), at[0], s, be);
    }

    /** TaylorSeer's first order: Δ(f₂) + (Δ(f₂) − Δ(f₁))·(s − f₂)/(f₂ − f₁), f₁ < f₂. */
    static Tensor extrapolate(Tensor latest, int f2, Tensor before, int f1, int s, org.deltadit.engine.Backend be) {
        float slope = (float) (s - f2) / (f2 - f1);
        return be.add(latest, be.scale(be.sub(latest, before), slope));
    }

    /** Bytes held now. */
    public long bytes() {
        long b = 0;
        for (Tensor t : entries.values()) b += t.numel() * t.dtype().bytes();
        for (Tensor t : previous.values()) b += t.numel() * t.dtype().bytes();
        return b;
    }

    /** Most bytes held at any time. */
    public long peakBytes() { return peakBytes; }

    /** Cached steps served. */
    public int hits() { return hits; }
}
