package org.deltadit.cache;

import org.deltadit.dit.BlockStack;
import org.deltadit.engine.Tensor;
import org.deltadit.sampler.Denoiser;
import org.deltadit.sampler.Guidance;
import org.deltadit.sampler.StepContext;

/**
 * Any block-stack model as a sampler's {@link Denoiser}. With guidance (cfg > 1) one batch holds the
 * conditional rows and the unconditional rows, and {@link Guidance} mixes the first
 * {@code guidedChannels} output channels; a single-branch step of the plan (T-GATE after its gate)
 * runs the unconditional rows alone, unguided. The blocks run through a {@link BlockRunner}, so a
 * cache plan can replace some of them.
 */
public final class GuidedDenoiser<C> implements Denoiser {
    private final BlockStack<C> model;
    private final Conditioner<C> conditioner;
    private final int images;
    private final double cfg;
    private final int guidedChannels;
    private final BlockRunner<C> blocks;
    private RowCacheRunner<C> rowCache;

    /** {@code plan} null runs every block at every step; {@code store} null with a plan: a fresh F32 store. */
    public GuidedDenoiser(BlockStack<C> model, Conditioner<C> conditioner, int images, double cfg, int guidedChannels, Plan plan, DeltaStore store) {
        this.model = model;
        this.conditioner = conditioner;
        this.images = images;
        this.cfg = cfg;
        this.guidedChannels = guidedChannels;
        this.blocks = new BlockRunner<>(model, plan, store);
    }

    /**
     * Makes this denoiser decide at run time, row by row, as {@code policy} says (the plan stays full); {@code cfg}
     * is the model's architecture, for counting the MACs of what ran. Not for models whose blocks keep state
     * across rows (the U-Net's skips).
     */
    public GuidedDenoiser<C> dynamic(CachePolicy policy, org.deltadit.weights.ModelConfig cfg) {
        if (cfg instanceof org.deltadit.weights.UNetConfig) throw new org.deltadit.engine.InvalidParameter("cache", policy.describe() + " runs rows apart; the U-Net's skip connections keep one state for the batch (use deepcache or delta-cache)");
        this.rowCache = new RowCacheRunner<>(model, policy, guided() ? 2 * images : images, cfg);
        return this;
    }

    /** With a dynamic policy: the MACs of what ran, the same with the attention products, and the rows that reused per step; else null. */
    public long[] dynamicMacs() { return rowCache == null ? null : new long[] {rowCache.macs(), rowCache.macsWithAttention()}; }

    public java.util.List<Integer> dynamicReuse() { return rowCache == null ? java.util.List.of() : rowCache.reusedPerStep(); }

    /** Installs an observer of the blocks of uncached steps (null removes it). */
    public GuidedDenoiser<C> observe(BlockRunner.BlockObserver o) {
        blocks.observe(o);
        return this;
    }

    /** Nanoseconds spent inside the model's blocks so far (the rest of a step: embedding, final layer, Δ arithmetic, guidance, sampler). */
    public long blockNanos() { return blocks.blockNanos() + (rowCache == null ? 0 : rowCache.blockNanos()); }

    /** The store of this denoiser's cached state (null without a plan). */
    public DeltaStore store() { return blocks.store(); }

    public boolean guided() { return cfg > 1; }

    @Override
    public Tensor apply(Tensor x, StepContext ctx) {
        int b = x.dim(0);
        if (b != images) throw new IllegalArgumentException("denoiser: batch of " + b + " for " + images + " images");
        boolean single = guided() && blocks.plan() != null && blocks.plan().step(ctx.step()).singleBranch();
        boolean both = guided() && !single;
        Tensor in = both ? Tensor.concat(0, x, x) : x;
        // a single-branch step of a guided run feeds the unconditional rows, as T-GATE's reference does
        C c = conditioner.condition(ctx.timestep(), single ? b : 0, both || single ? 2 * b : b);
        Tensor h = rowCache != null ? rowCache.run(in, c, conditioner, ctx.timestep(), ctx.step(), ctx.steps()) : blocks.run(in, c, ctx.step(), both ? 2 : 1);
        Tensor out = model.finalLayer(h, c);
        return both ? Guidance.combine(out, cfg, guidedChannels) : out;
    }
}
