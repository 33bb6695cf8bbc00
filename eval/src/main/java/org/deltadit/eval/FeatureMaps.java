package org.deltadit.eval;

import org.deltadit.engine.Tensor;

/**
 * The evaluation networks' cheap per-element steps on feature maps [N, C, H, W] (F32, contiguous): zero
 * padding, ReLU, pooling, bilinear resizing and spatial means. They run on the host beside the
 * backend's convolutions, which hold nearly all of the work.
 */
final class FeatureMaps {
    private FeatureMaps() {}

    /** Zero padding of ph rows above and below, pw columns left and right. */
    static Tensor pad(Tensor x, int ph, int pw) {
        int n = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = h + 2 * ph, ow = w + 2 * pw;
        float[] in = x.toFloatArray(), out = new float[n * oh * ow];
        for (int p = 0; p < n; p++) for (int y = 0; y < h; y++) System.arraycopy(in, (p * h + y) * w, out, (p * oh + y + ph) * ow + pw, w);
        return Tensor.of(out, x.dim(0), x.dim(1), oh, ow);
    }

    /** a·x + b. */
    static Tensor affine(Tensor x, float a, float b) {
        float[] v = x.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = a * v[i] + b;
        return Tensor.of(v, x.shape());
    }

    static Tensor relu(Tensor x) {
        float[] v = x.toFloatArray();
        for (int i = 0; i < v.length; i++) if (!(v[i] > 0)) v[i] = 0;
        return Tensor.of(v, x.shape());
    }

    /** Max pooling, k×k windows, stride s, padding p (padded cells never win). */
    static Tensor maxPool(Tensor x, int k, int s, int p) { return pool(x, k, s, p, true); }

    /** Average pooling that divides by the cells inside the input only (PyTorch's count_include_pad=False). */
    static Tensor avgPool(Tensor x, int k, int s, int p) { return pool(x, k, s, p, false); }

    private static Tensor pool(Tensor x, int k, int s, int p, boolean max) {
        int n = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1;
        float[] in = x.toFloatArray(), out = new float[n * oh * ow];
        for (int q = 0; q < n; q++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    int y0 = Math.max(0, oy * s - p), y1 = Math.min(h, oy * s - p + k), x0 = Math.max(0, ox * s - p), x1 = Math.min(w, ox * s - p + k);
                    float m = Float.NEGATIVE_INFINITY;
                    double sum = 0;
                    for (int y = y0; y < y1; y++) {
                        for (int xx = x0; xx < x1; xx++) {
                            float v = in[(q * h + y) * w + xx];
                            m = Math.max(m, v);
                            sum += v;
                        }
                    }
                    out[(q * oh + oy) * ow + ox] = max ? m : (float) (sum / ((y1 - y0) * (x1 - x0)));
                }
            }
        }
        return Tensor.of(out, x.dim(0), x.dim(1), oh, ow);
    }

    /** Bilinear resizing as PyTorch's interpolate(mode="bilinear", align_corners=False, antialias=False). */
    static Tensor resizeBilinear(Tensor x, int oh, int ow) {
        int n = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
        float[] in = x.toFloatArray(), out = new float[n * oh * ow];
        int[] ya = new int[oh], yb = new int[oh], xa = new int[ow], xb = new int[ow];
        float[] fy = new float[oh], fx = new float[ow];
        axis(h, oh, ya, yb, fy);
        axis(w, ow, xa, xb, fx);
        for (int q = 0; q < n; q++) {
            int base = q * h * w;
            for (int y = 0; y < oh; y++) {
                for (int xx = 0; xx < ow; xx++) {
                    float top = in[base + ya[y] * w + xa[xx]] * (1 - fx[xx]) + in[base + ya[y] * w + xb[xx]] * fx[xx];
                    float bot = in[base + yb[y] * w + xa[xx]] * (1 - fx[xx]) + in[base + yb[y] * w + xb[xx]] * fx[xx];
                    out[(q * oh + y) * ow + xx] = top * (1 - fy[y]) + bot * fy[y];
                }
            }
        }
        return Tensor.of(out, x.dim(0), x.dim(1), oh, ow);
    }

    /** Source cells and weights of one axis: half-pixel centres, clamped at 0 below. */
    private static void axis(int in, int out, int[] a, int[] b, float[] f) {
        float scale = in / (float) out;
        for (int i = 0; i < out; i++) {
            float src = Math.max(0, (i + 0.5f) * scale - 0.5f);
            a[i] = Math.min((int) src, in - 1);
            b[i] = Math.min(a[i] + 1, in - 1);
            f[i] = src - a[i];
        }
    }

    /** The mean over H×W of each channel: [N, C]. */
    static Tensor spatialMean(Tensor x) {
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        float[] in = x.toFloatArray(), out = new float[n * c];
        for (int q = 0; q < n * c; q++) {
            double s = 0;
            for (int i = 0; i < hw; i++) s += in[q * hw + i];
            out[q] = (float) (s / hw);
        }
        return Tensor.of(out, n, c);
    }
}
