package org.deltadit.sampler;

import org.deltadit.engine.Tensor;

/**
 * Classifier-free guidance over a batch [cond; uncond] of 2B model outputs: for the first
 * {@code guided} channels ε = ε_u + s·(ε_c − ε_u); the other channels (the official script's fourth
 * latent channel and the σ channels) come from the conditional half.
 */
public final class Guidance {
    private Guidance() {}

    /** A --guide-channels value must name 1 to {@code channels} latent channels. */
    public static void checkChannels(int guided, int channels) {
        if (guided < 1 || guided > channels) throw new org.deltadit.engine.InvalidParameter("guideChannels", guided + " (1.." + channels + ")");
    }

    public static Tensor combine(Tensor out2b, double scale, int guided) {
        int b2 = out2b.dim(0), b = b2 / 2, oc = out2b.dim(1), hw = out2b.dim(2) * out2b.dim(3);
        if (b2 % 2 != 0) throw new IllegalArgumentException("guidance: odd batch " + out2b.shapeString());
        float[] o = out2b.toFloatArray(), r = new float[b * oc * hw];
        for (int n = 0; n < b; n++) {
            for (int c = 0; c < oc; c++) {
                int cond = (n * oc + c) * hw, unc = ((n + b) * oc + c) * hw, at = (n * oc + c) * hw;
                for (int k = 0; k < hw; k++) {
                    r[at + k] = c < guided ? (float) (o[unc + k] + scale * (o[cond + k] - o[unc + k])) : o[cond + k];
                }
            }
        }
        return Tensor.of(r, b, oc, out2b.dim(2), out2b.dim(3));
    }
}
