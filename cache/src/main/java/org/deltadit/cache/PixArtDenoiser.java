package org.deltadit.cache;

import org.deltadit.dit.PixArtModel;
import org.deltadit.engine.Tensor;
import org.deltadit.sampler.Denoiser;
import org.deltadit.sampler.Guidance;
import org.deltadit.sampler.StepContext;

/**
 * A PixArt-α model as a sampler's {@link Denoiser}: the caption features of each image and, with
 * guidance (cfg > 1), the unconditional branch's features in the same batch. Guidance mixes every
 * output channel, as diffusers' pipeline does. The blocks run through a {@link BlockRunner}, so the
 * same cache plans as for DiT apply.
 */
public final class PixArtDenoiser implements Denoiser {
    private final PixArtModel model;
    private final Tensor caption;
    private final float[] mask;
    private final double cfg;
    private final int heightPx, widthPx;
    private final BlockRunner<PixArtModel.Conditioning> blocks;
    private final CachePolicy.TGate tgate;
    private final Tensor[] gateCross;

    /** Caption features of one or several images with their masks ([B, L, C] and B·L values, 1 = token). */
    public record Text(Tensor embeds, float[] mask) {
        public Text {
            if (embeds.rank() != 3 || mask.length != embeds.dim(0) * embeds.dim(1)) {
                throw new IllegalArgumentException("caption features " + embeds.shapeString() + " with a mask of " + mask.length + " values");
            }
        }

        public int count() { return embeds.dim(0); }

        public int tokens() { return embeds.dim(1); }

        /** Rows [from, to), padded with masked zero tokens to {@code length}. */
        public Text rows(int from, int to, int length) {
            int l = tokens(), c = embeds.dim(2);
            Tensor e = Tensor.zeros(to - from, length, c);
            e.slice(1, 0, l).copyFrom(embeds.slice(0, from, to));
            float[] m = new float[(to - from) * length];
            for (int i = from; i < to; i++) System.arraycopy(mask, i * l, m, (i - from) * length, l);
            return new Text(e, m);
        }

        /** The rows at the given indices, in that order (an index may repeat). */
        public Text pick(int... idx) {
            int l = tokens();
            Tensor[] e = new Tensor[idx.length];
            float[] m = new float[idx.length * l];
            for (int i = 0; i < idx.length; i++) {
                e[i] = embeds.slice(0, idx[i], idx[i] + 1);
                System.arraycopy(mask, idx[i] * l, m, i * l, l);
            }
            return new Text(Tensor.concat(0, e), m);
        }
    }

    /**
     * {@code cond} has one row per image of the batch; {@code uncond} (needed when cfg > 1) one row per
     * image or a single row for all. heightPx and widthPx feed the MS models' micro-conditions.
     */
    public PixArtDenoiser(PixArtModel model, Text cond, Text uncond, double cfg, int heightPx, int widthPx, Plan plan, DeltaStore store) {
        int b = cond.count();
        boolean guided = cfg > 1;
        if (guided && uncond == null) throw new IllegalArgumentException("guidance needs the unconditional branch's caption features");
        if (guided && uncond.count() != b && uncond.count() != 1) {
            throw new IllegalArgumentException("unconditional caption features for " + uncond.count() + " images, the batch has " + b);
        }
        int l = guided ? Math.max(cond.tokens(), uncond.tokens()) : cond.tokens();
        Text c = cond.rows(0, b, l);
        if (guided) {
            Text u = uncond.count() == b ? uncond.rows(0, b, l) : uncond.rows(0, 1, l).pick(new int[b]);
            float[] m = new float[2 * b * l];
            System.arraycopy(c.mask(), 0, m, 0, b * l);
            System.arraycopy(u.mask(), 0, m, b * l, b * l);
            c = new Text(Tensor.concat(0, c.embeds(), u.embeds()), m);
        }
        this.model = model;
        this.caption = c.embeds();
        this.mask = c.mask();
        this.cfg = cfg;
        this.heightPx = heightPx;
        this.widthPx = widthPx;
        this.tgate = plan != null && plan.policy() instanceof CachePolicy.TGate t ? t : null;
        this.gateCross = new Tensor[model.depth()];
        this.blocks = new BlockRunner<>(model, tgate != null ? null : plan, store);
    }

    /**
     * T-GATE: up to the gate step as usual (the blocks run in parts so the gate step can keep each
     * cross-attention output, the guidance branches averaged); after it one unguided branch whose blocks
     * add the kept output instead of attending to the caption.
     */
    private Tensor applyGated(Tensor x, StepContext ctx) {
        int s = ctx.step(), b = x.dim(0);
        boolean after = s > tgate.gate(), both = guided() && !after;
        Tensor in = both ? Tensor.concat(0, x, x) : x;
        // after the gate the caption is not attended to: the reference feeds the negative branch's
        Tensor cap = both || !guided() ? caption : caption.slice(0, b, 2 * b);
        float[] m = both || !guided() ? mask : java.util.Arrays.copyOfRange(mask, b * caption.dim(1), 2 * b * caption.dim(1));
        float[] t = new float[in.dim(0)];
        java.util.Arrays.fill(t, ctx.timestep());
        PixArtModel.Conditioning c = model.condition(t, cap, m, heightPx, widthPx);
        var be = model.backend();
        Tensor h = model.embed(in);
        for (int i = 0; i < model.depth(); i++) {
            h = model.selfAttention(i, h, c);
            Tensor cross;
            if (after) {
                if (gateCross[i] == null) throw new IllegalStateException("T-GATE: step " + s + " has no cross-attention output from the gate step");
                cross = gateCross[i];
            } else {
                cross = model.crossAttention(i, h, c);
                if (s == tgate.gate()) gateCross[i] = both ? be.scale(be.add(cross.slice(0, 0, b), cross.slice(0, b, 2 * b)), 0.5f) : cross;
            }
            h = model.mlp(i, be.add(h, cross), c);
        }
        Tensor out = model.finalLayer(h, c);
        return both ? Guidance.combine(out, cfg, out.dim(1)) : out;
    }

    public PixArtDenoiser observe(BlockRunner.BlockObserver o) {
        blocks.observe(o);
        return this;
    }

    public DeltaStore store() { return blocks.store(); }

    public boolean guided() { return cfg > 1; }

    @Override
    public Tensor apply(Tensor x, StepContext ctx) {
        if (tgate != null) return applyGated(x, ctx);
        Tensor in = guided() ? Tensor.concat(0, x, x) : x;
        if (in.dim(0) != caption.dim(0)) throw new IllegalArgumentException("denoiser: batch of " + x.dim(0) + " for " + (guided() ? caption.dim(0) / 2 : caption.dim(0)) + " captions");
        float[] t = new float[in.dim(0)];
        java.util.Arrays.fill(t, ctx.timestep());
        PixArtModel.Conditioning c = model.condition(t, caption, mask, heightPx, widthPx);
        Tensor out = model.finalLayer(blocks.run(in, c, ctx.step()), c);
        return guided() ? Guidance.combine(out, cfg, out.dim(1)) : out;
    }
}
