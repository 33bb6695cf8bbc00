package org.deltadit.eval;

/**
 * Bicubic resizing of 8-bit images exactly as Pillow does it (Image.resize(size, BICUBIC), which CLIP's
 * preprocessing uses): separable, horizontal pass then vertical, each through an 8-bit intermediate;
 * the cubic kernel with a = −0.5, its support widened by the scale when shrinking (antialiasing);
 * weights normalised per output pixel, then rounded to 22-bit fixed point; sums rounded and clamped.
 */
final class PilResize {
    private PilResize() {}

    private static final int PRECISION_BITS = 32 - 8 - 2;

    /** Interleaved 8-bit pixels [h][w][channels] → [oh][ow][channels]. */
    static byte[] bicubic(byte[] in, int w, int h, int channels, int ow, int oh) {
        byte[] mid = in;
        int midW = w;
        if (ow != w) {
            mid = pass(in, w, h, channels, ow, true);
            midW = ow;
        }
        return oh != h ? pass(mid, midW, h, channels, oh, false) : mid;
    }

    /** One pass along x (horizontal) or y. */
    private static byte[] pass(byte[] in, int w, int h, int c, int outSize, boolean horizontal) {
        int inSize = horizontal ? w : h;
        Coeffs k = coeffs(inSize, outSize);
        int ow = horizontal ? outSize : w, oh = horizontal ? h : outSize;
        byte[] out = new byte[ow * oh * c];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int o = horizontal ? x : y, min = k.min[o], n = k.size[o];
                for (int ch = 0; ch < c; ch++) {
                    int ss = 1 << (PRECISION_BITS - 1);
                    for (int t = 0; t < n; t++) {
                        int src = horizontal ? (y * w + min + t) : ((min + t) * w + x);
                        ss += (in[src * c + ch] & 0xff) * k.k[o * k.ksize + t];
                    }
                    out[(y * ow + x) * c + ch] = (byte) Math.max(0, Math.min(255, ss >> PRECISION_BITS));
                }
            }
        }
        return out;
    }

    private record Coeffs(int ksize, int[] min, int[] size, int[] k) {}

    /** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bicubic filter over [0, inSize). */
    private static Coeffs coeffs(int inSize, int outSize) {
        double scale = inSize / (double) outSize, filterscale = Math.max(scale, 1.0), support = 2.0 * filterscale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] min = new int[outSize], size = new int[outSize], kk = new int[outSize * ksize];
        double[] pre = new double[ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale, ww = 0, ss = 1.0 / filterscale;
            int xmin = Math.max(0, (int) (center - support + 0.5)), xmax = Math.min(inSize, (int) (center + support + 0.5)) - xmin;
            for (int x = 0; x < xmax; x++) ww += pre[x] = cubic((x + xmin - center + 0.5) * ss);
            for (int x = 0; x < xmax; x++) {
                double v = ww != 0 ? pre[x] / ww : pre[x];
                kk[xx * ksize + x] = (int) (v < 0 ? v * (1 << PRECISION_BITS) - 0.5 : v * (1 << PRECISION_BITS) + 0.5);
            }
            min[xx] = xmin;
            size[xx] = xmax;
        }
        return new Coeffs(ksize, min, size, kk);
    }

    private static double cubic(double x) {
        double a = -0.5;
        x = Math.abs(x);
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }
}
