package org.deltadit.cache;

import org.deltadit.dit.CaptionFeatures;
import org.deltadit.dit.DitModel;
import org.deltadit.dit.PixArtModel;
import org.deltadit.dit.Sd3Model;
import org.deltadit.engine.Tensor;

/**
 * What a model is conditioned on, per batch row, for {@link GuidedDenoiser}: rows [0, B) are the
 * images' own conditions, rows [B, 2B) (with guidance) the unconditional branch's. A conditioner
 * builds the model's conditioning of any contiguous run of those rows at a timestep.
 */
@FunctionalInterface
public interface Conditioner<C> {
    /** The conditioning of rows [from, to) at model timestep t. */
    C condition(float t, int from, int to);

    /** A class-conditional DiT: rows [0, B) take {@code labels}, rows [B, 2B) the null class (DiT's forward_with_cfg). */
    static Conditioner<DitModel.Conditioning> dit(DitModel m, int[] labels) {
        int[] y = labels.clone();
        int nul = m.config().numClasses();
        return (t, from, to) -> {
            int[] rows = new int[to - from];
            for (int i = from; i < to; i++) rows[i - from] = i < y.length ? y[i] : nul;
            return m.condition(filled(t, rows.length), rows);
        };
    }

    /**
     * PixArt-α: {@code cond} has one row per image; {@code uncond} (null without guidance) one row per
     * image or a single row for all; both are padded to one token count. heightPx and widthPx feed the
     * MS models' micro-conditions.
     */
    static Conditioner<PixArtModel.Conditioning> pixart(PixArtModel m, CaptionFeatures cond, CaptionFeatures uncond, int heightPx, int widthPx) {
        int b = cond.count();
        if (uncond != null && uncond.count() != b && uncond.count() != 1) {
            throw new IllegalArgumentException("unconditional caption features for " + uncond.count() + " images, the batch has " + b);
        }
        int l = uncond != null ? Math.max(cond.tokens(), uncond.tokens()) : cond.tokens();
        CaptionFeatures rows = cond.rows(0, b, l);
        if (uncond != null) rows = rows.append(uncond.count() == b ? uncond.rows(0, b, l) : uncond.rows(0, 1, l).pick(new int[b]));
        // projected once for the run; each block's keys and values are kept from the first step that needs them
        PixArtModel.Caption text = m.caption(rows.embeds(), rows.mask());
        return (t, from, to) -> m.condition(filled(t, to - from), text.rows(from, to), heightPx, widthPx);
    }

    /**
     * SD3: {@code pooled} [R, pooledDim] and {@code context} [R, M, jointAttentionDim] hold every row —
     * the images' prompts, then (with guidance) their negative prompts.
     */
    static Conditioner<Sd3Model.Conditioning> sd3(Sd3Model m, Tensor pooled, Tensor context) {
        if (pooled.dim(0) != context.dim(0)) throw new IllegalArgumentException("SD3: pooled text for " + pooled.dim(0) + " rows, context for " + context.dim(0));
        return (t, from, to) -> m.condition(filled(t, to - from), pooled.slice(0, from, to).contiguous(), context.slice(0, from, to).contiguous());
    }

    private static float[] filled(float t, int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, t);
        return v;
    }
}
