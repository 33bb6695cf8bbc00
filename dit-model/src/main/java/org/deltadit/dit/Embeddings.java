package org.deltadit.dit;

import org.deltadit.engine.Tensor;

/** The fixed sinusoidal embeddings DiT and PixArt use (model-formats.md §1.1 and §1.4). */
public final class Embeddings {
    private Embeddings() {}

    /**
     * Timestep embedding [B, dim]: cos first, then sin, frequencies exp(−ln(10⁴)·k/(half − shift));
     * shift 0 is the official code, 1 is diffusers' DiT (downscale_freq_shift = 1).
     */
    public static Tensor timestep(float[] t, int dim, int shift) {
        int half = dim / 2;
        float[] out = new float[t.length * dim];
        for (int b = 0; b < t.length; b++) {
            for (int k = 0; k < half; k++) {
                // float32 step by step, as PyTorch computes it: at t = 999 one ulp of a frequency moves cos by 1e-4
                float exponent = ((float) -Math.log(10000) * k) / (half - shift);
                float freq = (float) Math.exp(exponent);
                float arg = t[b] * freq;
                out[b * dim + k] = (float) Math.cos(arg);
                out[b * dim + half + k] = (float) Math.sin(arg);
            }
        }
        return Tensor.of(out, t.length, dim);
    }

    /**
     * 2-D sin-cos position table [1, gh·gw, d], computed in double: for the token at (row, col) the
     * first d/2 values encode the column and the last d/2 the row, each as [sin(pos·ω), cos(pos·ω)]
     * with ω_k = 10000^(−k/(d/4)). {@code base} and {@code scale} give PixArt's interpolation
     * (pos = index / (grid/base) / scale); DiT uses base = grid, scale = 1.
     */
    public static Tensor sincos2d(int d, int gh, int gw, double baseH, double baseW, double scale) {
        if (d % 4 != 0) throw new IllegalArgumentException("sincos2d: hidden size " + d + " is not a multiple of 4");
        int quarter = d / 4;
        float[] out = new float[gh * gw * d];
        for (int r = 0; r < gh; r++) {
            for (int c = 0; c < gw; c++) {
                double x = c / (gw / baseW) / scale, y = r / (gh / baseH) / scale;
                int o = (r * gw + c) * d;
                for (int k = 0; k < quarter; k++) {
                    double omega = 1.0 / Math.pow(10000, k / (double) quarter);
                    out[o + k] = (float) Math.sin(x * omega);
                    out[o + quarter + k] = (float) Math.cos(x * omega);
                    out[o + 2 * quarter + k] = (float) Math.sin(y * omega);
                    out[o + 3 * quarter + k] = (float) Math.cos(y * omega);
                }
            }
        }
        return Tensor.of(out, 1, gh * gw, d);
    }
}
