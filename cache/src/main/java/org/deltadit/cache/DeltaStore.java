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
    private final boolean bf16;
    private long peakBytes;
    private int hits;

    public DeltaStore(boolean bf16) { this.bf16 = bf16; }

    void put(StepPlan.Range r, Tensor t) {
        entries.put(r, bf16 ? t.to(DType.BF16) : t);
        long now = bytes();
        if (now > peakBytes) peakBytes = now;
    }

    /** Drops every entry a full step does not record again: cached steps only use the latest full step's. */
    void retainOnly(java.util.Collection<StepPlan.Range> keep) { entries.keySet().retainAll(keep); }

    /** The entry as F32; a miss is a bug in the plan, not bad input. */
    Tensor take(StepPlan.Range r) {
        Tensor t = entries.get(r);
        if (t == null) throw new IllegalStateException("cache: nothing stored for " + r + " (the plan records it at a full step)");
        hits++;
        return t.dtype() == DType.F32 ? t : t.to(DType.F32);
    }

    /** Bytes held now. */
    public long bytes() {
        long b = 0;
        for (Tensor t : entries.values()) b += t.numel() * t.dtype().bytes();
        return b;
    }

    /** Most bytes held at any time. */
    public long peakBytes() { return peakBytes; }

    /** Cached steps served. */
    public int hits() { return hits; }
}
