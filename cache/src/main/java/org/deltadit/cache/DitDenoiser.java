package org.deltadit.cache;

import org.deltadit.dit.DitModel;
import org.deltadit.engine.Tensor;
import org.deltadit.sampler.Denoiser;
import org.deltadit.sampler.Guidance;
import org.deltadit.sampler.StepContext;

/**
 * A class-conditional DiT as a sampler's {@link Denoiser}. With guidance (cfg > 1) one batch holds
 * the conditional half (the requested labels) and the unconditional half (the null class), as DiT's
 * forward_with_cfg does, and {@link Guidance} mixes them. The blocks run through a {@link BlockRunner},
 * so a cache plan can replace some of them.
 */
public final class DitDenoiser implements Denoiser {
    private final DitModel model;
    private final int[] labels;
    private final double cfg;
    private final int guided;
    private final BlockRunner<DitModel.Conditioning> blocks;

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
        Guidance.checkChannels(guidedChannels, model.config().inChannels());
        this.model = model;
        this.labels = labels.clone();
        this.cfg = cfg;
        this.guided = guidedChannels;
        this.blocks = new BlockRunner<>(model, plan, store);
    }

    /** Installs an observer of the blocks of uncached steps (null removes it). */
    public DitDenoiser observe(BlockRunner.BlockObserver o) {
        blocks.observe(o);
        return this;
    }

    /** The store of this denoiser's cached state (null without a plan). */
    public DeltaStore store() { return blocks.store(); }

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
        Tensor out = model.finalLayer(blocks.run(in, c, ctx.step()), c);
        return guided() ? Guidance.combine(out, cfg, guided) : out;
    }
}
