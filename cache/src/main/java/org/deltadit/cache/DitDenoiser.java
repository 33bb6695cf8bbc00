package org.deltadit.cache;

import org.deltadit.dit.DitModel;
import org.deltadit.engine.Tensor;
import org.deltadit.sampler.Denoiser;
import org.deltadit.sampler.Guidance;
import org.deltadit.sampler.StepContext;

/**
 * A class-conditional DiT as a sampler's {@link Denoiser}. With guidance (cfg > 1) one batch holds
 * the conditional half (the requested labels) and the unconditional half (the null class), as DiT's
 * forward_with_cfg does, and {@link Guidance} mixes them. The block loop lives here, outside the model,
 * so a cache policy can replace it.
 */
public final class DitDenoiser implements Denoiser {
    private final DitModel model;
    private final int[] labels;
    private final double cfg;
    private final int guided;
    private final Plan plan;
    private final DeltaStore store;
    private BlockObserver observer;

    /** Sees every block a full step runs (for the analyses): step s, block i, its input and output. */
    @FunctionalInterface
    public interface BlockObserver {
        void afterBlock(int step, int block, Tensor in, Tensor out);
    }

    /** Installs an observer of the blocks of uncached steps (null removes it). */
    public DitDenoiser observe(BlockObserver o) {
        this.observer = o;
        return this;
    }

    /** {@code guidedChannels}: how many latent channels guidance mixes (all by default; 3 as DiT's sample.py). */
    public DitDenoiser(DitModel model, int[] labels, double cfg, int guidedChannels) {
        this(model, labels, cfg, guidedChannels, null, null);
    }

    /** With a cache plan (null: every block at every step) and the store its full steps fill. */
    public DitDenoiser(DitModel model, int[] labels, double cfg, int guidedChannels, Plan plan, DeltaStore store) {
        int classes = model.config().numClasses();
        for (int y : labels) {
            if (y < 0 || y >= classes) throw new IllegalArgumentException("--class: " + y + " outside [0, " + classes + ")");
        }
        if (guidedChannels < 1 || guidedChannels > model.config().inChannels()) {
            throw new IllegalArgumentException("--guide-channels: " + guidedChannels + " (1.." + model.config().inChannels() + ")");
        }
        this.model = model;
        this.labels = labels.clone();
        this.cfg = cfg;
        this.guided = guidedChannels;
        this.plan = plan;
        this.store = plan == null ? null : store != null ? store : new DeltaStore(false);
    }

    /** The store of this denoiser's cached state (null without a plan). */
    public DeltaStore store() { return store; }

    public boolean guided() { return cfg > 1; }

    @Override
    public Tensor apply(Tensor x, StepContext ctx) {
        int b = x.dim(0);
        if (b != labels.length) throw new IllegalArgumentException("denoiser: batch of " + b + " for " + labels.length + " labels");
        Tensor in = guided() ? Tensor.concat(0, x, x) : x;
        int[] y = new int[in.dim(0)];
        for (int i = 0; i < y.length; i++) y[i] = i < b ? labels[i] : model.config().numClasses();
        float[] t = new float[y.length];
        java.util.Arrays.fill(t, ctx.timestep());
        DitModel.Conditioning c = model.condition(t, y);
        Tensor h = plan == null ? runAll(model.embed(in), c, ctx.step()) : runPlanned(plan.step(ctx.step()), in, c);
        Tensor out = model.finalLayer(h, c);
        return guided() ? Guidance.combine(out, cfg, guided) : out;
    }

    private Tensor runAll(Tensor h, DitModel.Conditioning c, int step) {
        if (observer == null) return run(h, 0, model.depth(), c);
        for (int i = 0; i < model.depth(); i++) {
            Tensor out = model.block(i, h, c);
            observer.afterBlock(step, i, h, out);
            h = out;
        }
        return h;
    }

    private Tensor run(Tensor h, int from, int to, DitModel.Conditioning c) {
        for (int i = from; i < to; i++) h = model.block(i, h, c);
        return h;
    }

    /**
     * A full step runs every block and records what the following cached steps take: Δ[i,j) = h_j − h_i
     * (h_i is kept by reference, the blocks return new tensors) or h_I. A cached step replaces its range.
     */
    private Tensor runPlanned(StepPlan p, Tensor in, DitModel.Conditioning c) {
        var be = model.backend();
        switch (p.mode()) {
            case FULL -> {
                store.retainOnly(p.records());
                Tensor h = model.embed(in);
                java.util.Map<Integer, Tensor> entering = new java.util.HashMap<>();
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
