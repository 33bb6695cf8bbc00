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

    /** {@code guidedChannels}: how many latent channels guidance mixes (all by default; 3 as DiT's sample.py). */
    public DitDenoiser(DitModel model, int[] labels, double cfg, int guidedChannels) {
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
    }

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
        Tensor h = model.embed(in);
        for (int i = 0; i < model.depth(); i++) h = model.block(i, h, c);
        Tensor out = model.finalLayer(h, c);
        return guided() ? Guidance.combine(out, cfg, guided) : out;
    }
}
