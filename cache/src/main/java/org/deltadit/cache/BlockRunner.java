package org.deltadit.cache;

import java.util.HashMap;
import java.util.Map;
import org.deltadit.dit.BlockStack;
import org.deltadit.engine.Tensor;

/**
 * The block loop of one model evaluation under a cache {@link Plan}, for any {@link BlockStack}: a full
 * step runs every block and records what the following cached steps take (Δ[i,j) = h_j − h_i, or h_I);
 * a cached step replaces its range. Without a plan every block runs. The model never sees the cache.
 */
public final class BlockRunner<C> {
    private final BlockStack<C> model;
    private final Plan plan;
    private final DeltaStore store;
    private BlockObserver observer;

    /** Sees every block a full step runs (for the analyses): step s, block i, its input and output. */
    @FunctionalInterface
    public interface BlockObserver {
        void afterBlock(int step, int block, Tensor in, Tensor out);
    }

    /** {@code plan} null: every block at every step; {@code store} null: a fresh F32 store. */
    public BlockRunner(BlockStack<C> model, Plan plan, DeltaStore store) {
        this.model = model;
        this.plan = plan;
        this.store = plan == null ? null : store != null ? store : new DeltaStore(false);
    }

    public DeltaStore store() { return store; }

    public void observe(BlockObserver o) { this.observer = o; }

    /** Model input → the hidden state leaving the last block, at step s (1-based) of the plan. */
    public Tensor run(Tensor in, C c, int step) {
        return plan == null ? runAll(model.embed(in), c, step) : runPlanned(plan.step(step), in, c);
    }

    private Tensor runAll(Tensor h, C c, int step) {
        if (observer == null) return run(h, 0, model.depth(), c);
        for (int i = 0; i < model.depth(); i++) {
            Tensor out = model.block(i, h, c);
            observer.afterBlock(step, i, h, out);
            h = out;
        }
        return h;
    }

    private Tensor run(Tensor h, int from, int to, C c) {
        for (int i = from; i < to; i++) h = model.block(i, h, c);
        return h;
    }

    /** h_i is kept by reference: the blocks return new tensors. */
    private Tensor runPlanned(StepPlan p, Tensor in, C c) {
        var be = model.backend();
        switch (p.mode()) {
            case FULL -> {
                store.retainOnly(p.records());
                Tensor h = model.embed(in);
                Map<Integer, Tensor> entering = new HashMap<>();
                for (int i = 0; i <= model.depth(); i++) {
                    for (StepPlan.Range r : p.records()) {
                        if (r.mode() == StepPlan.Mode.DELTA && r.from() == i) entering.put(i, h);
                        if (r.to() == i) store.put(r, r.mode() == StepPlan.Mode.DELTA ? be.sub(h, entering.get(r.from())) : h);
                    }
                    if (i < model.depth()) h = model.block(i, h, c);
                }
                return h;
            }
            case DELTA -> {
                Tensor h = run(model.embed(in), 0, p.from(), c);
                return run(be.add(h, store.take(p.uses())), p.to(), model.depth(), c);
            }
            case REUSE -> {
                return run(store.take(p.uses()), p.to(), model.depth(), c);
            }
            case SKIP -> {
                return run(run(model.embed(in), 0, p.from(), c), p.to(), model.depth(), c);
            }
            default -> throw new IllegalStateException("unknown step mode " + p.mode());
        }
    }
}
