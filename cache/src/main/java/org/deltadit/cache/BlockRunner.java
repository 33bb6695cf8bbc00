package org.deltadit.cache;

import java.util.HashMap;
import java.util.Map;
import org.deltadit.dit.BlockStack;
import org.deltadit.dit.CrossAttentionStack;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;

/**
 * The block loop of one model evaluation under a cache {@link Plan}, for any {@link BlockStack}: a full
 * step runs every block and records what the following cached steps take (Δ[i,j) = h_j − h_i, h_I, or
 * the blocks' cross-attention outputs); a cached step replaces its range. Without a plan every block
 * runs. The model never sees the cache.
 */
public final class BlockRunner<C> {
    private final BlockStack<C> model;
    private final Plan plan;
    private final DeltaStore store;
    private BlockObserver observer;
    /** Time spent inside the model's blocks, for the wall-clock split of a step (blocks vs everything else). */
    private long blockNanos;

    /** Sees every block a full step runs (for the analyses): step s, block i, its input and output. */
    @FunctionalInterface
    public interface BlockObserver {
        void afterBlock(int step, int block, Tensor in, Tensor out);

        /** Whether {@link #signal} is wanted (it costs a norm and a modulation per step). */
        default boolean wantsSignal() { return false; }

        /** TeaCache's signal at step s of a full step: block 0's modulated input ({@code BlockStack.modulatedInput}). */
        default void signal(int step, Tensor modulated) {}
    }

    /** {@code plan} null: every block at every step; {@code store} null: a fresh F32 store. */
    public BlockRunner(BlockStack<C> model, Plan plan, DeltaStore store) {
        if (plan != null && needsCrossAttention(plan) && !(model instanceof CrossAttentionStack)) {
            throw new IllegalArgumentException("cache " + plan.policy().describe() + " keeps cross-attention outputs: it needs a model with cross-attention (PixArt-α)");
        }
        this.model = model;
        this.plan = plan;
        this.store = plan == null ? null : store != null ? store : new DeltaStore(false);
    }

    private static boolean needsCrossAttention(Plan plan) {
        for (StepPlan p : plan.steps()) if (p.mode() == StepPlan.Mode.GATED) return true;
        return false;
    }

    public DeltaStore store() { return store; }

    public Plan plan() { return plan; }

    public void observe(BlockObserver o) { this.observer = o; }

    /** Nanoseconds spent inside the model's blocks (or T-GATE's parts of them) so far. */
    public long blockNanos() { return blockNanos; }

    private Tensor block(int i, Tensor h, C c) { return timed(() -> model.block(i, h, c)); }

    private Tensor timed(java.util.function.Supplier<Tensor> part) {
        long t0 = System.nanoTime();
        Tensor out = part.get();
        blockNanos += System.nanoTime() - t0;
        return out;
    }

    /**
     * Model input → the hidden state leaving the last block, at step s (1-based) of the plan. The batch
     * holds {@code branches} guidance branches (1 or 2) of the same images, the conditional one first;
     * what a step keeps for single-branch steps is averaged over them.
     */
    public Tensor run(Tensor in, C c, int step, int branches) {
        return plan == null ? runAll(model.embed(in, c), c, step) : runPlanned(plan.step(step), in, c, branches);
    }

    private Tensor runAll(Tensor h, C c, int step) {
        if (observer == null) return run(h, 0, model.depth(), c);
        if (observer.wantsSignal()) observer.signal(step, model.modulatedInput(0, h, c));
        for (int i = 0; i < model.depth(); i++) {
            Tensor out = block(i, h, c);
            observer.afterBlock(step, i, h, out);
            h = out;
        }
        return h;
    }

    /** Blocks [from, to) as one run ({@link BlockStack#blocks}: on a device, h stays there between them). */
    private Tensor run(Tensor h, int from, int to, C c) { return from >= to ? h : timed(() -> model.blocks(from, to, h, c)); }

    /** The first position after i where a full step records something (a range starts or ends), or the depth. */
    private int nextBoundary(StepPlan p, int i) {
        int next = model.depth();
        for (StepPlan.Range r : p.records()) {
            if (r.from() > i) next = Math.min(next, r.from());
            if (r.to() > i) next = Math.min(next, r.to());
        }
        return next;
    }

    /** h_i is kept by reference: the blocks return new tensors. */
    private Tensor runPlanned(StepPlan p, Tensor in, C c, int branches) {
        Backend be = model.backend();
        return switch (p.mode()) {
            case FULL -> {
                store.retainOnly(p.records());
                Tensor h = model.embed(in, c);
                Map<Integer, Tensor> entering = new HashMap<>();
                StepPlan.Range gate = null;
                Tensor[] crossKept = null;
                for (StepPlan.Range r : p.records()) {
                    if (r.mode() == StepPlan.Mode.GATED) {
                        gate = r;
                        crossKept = new Tensor[r.to() - r.from()];
                    }
                }
                for (int i = 0; i <= model.depth(); ) {
                    for (StepPlan.Range r : p.records()) {
                        boolean delta = r.mode() == StepPlan.Mode.DELTA || r.mode() == StepPlan.Mode.FORECAST;
                        if (delta && r.from() == i) entering.put(i, h);
                        if (r.mode() != StepPlan.Mode.GATED && r.to() == i) store.put(r, delta ? be.sub(h, entering.get(r.from())) : h, p.step());
                    }
                    if (i == model.depth()) break;
                    if (gate != null && i >= gate.from() && i < gate.to()) {
                        CrossAttentionStack<C> x = (CrossAttentionStack<C>) model;
                        int k = i;
                        Tensor hIn = h;
                        Tensor hs = timed(() -> x.selfAttention(k, hIn, c));
                        Tensor cross = timed(() -> x.crossAttention(k, hs, c));
                        crossKept[i - gate.from()] = branchMean(be, cross, branches);
                        h = timed(() -> x.mlp(k, be.add(hs, cross), c));
                        i++;
                    } else {
                        int next = nextBoundary(p, i);
                        h = run(h, i, next, c);
                        i = next;
                    }
                }
                if (gate != null) store.put(gate, Tensor.concat(0, crossKept));
                yield h;
            }
            case DELTA, FORECAST -> {
                Tensor h = run(model.embed(in, c), 0, p.from(), c);
                Tensor delta = p.mode() == StepPlan.Mode.FORECAST ? store.forecast(p.uses(), p.step(), be) : store.take(p.uses());
                yield run(be.add(h, delta), p.to(), model.depth(), c);
            }
            case REUSE -> run(store.take(p.uses()), p.to(), model.depth(), c);
            case DEEP -> {
                run(model.embed(in, c), 0, p.from(), c); // the shallow blocks: their skips feed the blocks after the span
                yield run(store.take(p.uses()), p.to(), model.depth(), c);
            }
            case SKIP -> run(run(model.embed(in, c), 0, p.from(), c), p.to(), model.depth(), c);
            case GATED -> {
                CrossAttentionStack<C> x = (CrossAttentionStack<C>) model;
                Tensor kept = store.take(p.uses());
                Tensor h = model.embed(in, c);
                int b = h.dim(0);
                for (int i = 0; i < model.depth(); i++) {
                    int k = i;
                    Tensor hIn = h;
                    Tensor hs = timed(() -> x.selfAttention(k, hIn, c));
                    Tensor cross = i >= p.from() && i < p.to() ? kept.slice(0, (i - p.from()) * b, (i - p.from() + 1) * b) : timed(() -> x.crossAttention(k, hs, c));
                    h = timed(() -> x.mlp(k, be.add(hs, cross), c));
                }
                yield h;
            }
        };
    }

    /** The mean over the guidance branches of a [branches·B, …] batch: [B, …]. */
    private static Tensor branchMean(Backend be, Tensor t, int branches) {
        if (branches == 1) return t;
        int b = t.dim(0) / 2;
        return be.scale(be.add(t.slice(0, 0, b), t.slice(0, b, 2 * b)), 0.5f);
    }
}
