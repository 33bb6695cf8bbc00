package org.deltadit.cache;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.deltadit.weights.ModelConfig;

/**
 * The plan of a whole run: one {@link StepPlan} per step, with each full step told which ranges the
 * cached steps up to the next full step will take, so nothing unused is stored. It also counts MACs
 * in the paper's convention: per step, the rows of the batch × (embedding and final layer + the
 * blocks that run).
 */
public final class Plan {
    private final List<StepPlan> steps;
    private final CachePolicy policy;

    private Plan(CachePolicy policy, List<StepPlan> steps) {
        this.policy = policy;
        this.steps = List.copyOf(steps);
    }

    public static Plan of(CachePolicy policy, int steps, int depth) {
        policy.check(steps, depth);
        List<StepPlan> raw = new ArrayList<>();
        for (int s = 1; s <= steps; s++) raw.add(policy.step(s, steps, depth));
        List<StepPlan> out = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            StepPlan p = raw.get(i);
            if (!p.full()) {
                if (p.uses() != null && !anyFullBefore(raw, i)) throw new IllegalStateException("cached step " + p.step() + " has no full step before it");
                out.add(p);
                continue;
            }
            Set<StepPlan.Range> need = new LinkedHashSet<>();
            for (int j = i + 1; j < raw.size() && !raw.get(j).full(); j++) if (raw.get(j).uses() != null) need.add(raw.get(j).uses());
            out.add(p.withRecords(new ArrayList<>(need)));
        }
        return new Plan(policy, out);
    }

    private static boolean anyFullBefore(List<StepPlan> raw, int i) {
        for (int j = 0; j < i; j++) if (raw.get(j).full()) return true;
        return false;
    }

    public CachePolicy policy() { return policy; }

    public List<StepPlan> steps() { return steps; }

    /** The plan of step s (1-based). */
    public StepPlan step(int s) { return steps.get(s - 1); }

    public int cachedSteps() {
        int n = 0;
        for (StepPlan p : steps) if (!p.full()) n++;
        return n;
    }

    /**
     * MACs of step {@code p} for {@code images} images of {@code branches} guidance branches each (2 with
     * guidance), paper convention: every row of the batch × (embedding and final layer + the blocks that
     * run). A single-branch step (T-GATE after the gate) runs one row per image, without cross-attention.
     */
    public long stepMacs(ModelConfig c, StepPlan p, long images, int branches) {
        long all = MacCount.blocks(c, 0, c.depth());
        if (p.mode() == StepPlan.Mode.GATED) return images * (MacCount.outside(c) + all - c.depth() * MacCount.crossAttention(c));
        long blocks = p.full() ? all : all - MacCount.blocks(c, p.from(), p.to());
        return images * branches * (MacCount.outside(c) + blocks);
    }

    /** As {@link #stepMacs} plus the attention products of the blocks that run (self-attention only where the caption is not attended to). */
    public long stepMacsWithAttention(ModelConfig c, StepPlan p, long images, int branches) {
        long perRow = p.mode() == StepPlan.Mode.GATED ? MacCount.selfAttentionProducts(c) : MacCount.attentionPerBlock(c);
        return stepMacs(c, p, images, branches) + rows(p, images, branches) * p.blocksRun() * perRow;
    }

    /** Batch rows the step evaluates. */
    private static long rows(StepPlan p, long images, int branches) { return p.singleBranch() ? images : images * branches; }

    public long macs(ModelConfig c, long images, int branches) {
        long m = 0;
        for (StepPlan p : steps) m += stepMacs(c, p, images, branches);
        return m;
    }

    public long macsWithAttention(ModelConfig c, long images, int branches) {
        long m = 0;
        for (StepPlan p : steps) m += stepMacsWithAttention(c, p, images, branches);
        return m;
    }

    /** The MACs of the same run without a cache: every block at every step. */
    public static long uncachedMacs(ModelConfig c, int steps, long images, int branches) {
        return of(new CachePolicy.None(), steps, c.depth()).macs(c, images, branches);
    }
}
