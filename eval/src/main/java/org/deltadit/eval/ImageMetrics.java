package org.deltadit.eval;

/**
 * PSNR and SSIM of a cached image against the uncached image from the same noise. Images come in
 * [−1, 1] and are compared in [0, 1] (clamped), as they would be written to PNG. SSIM follows Wang et
 * al. (2004): 11×11 Gaussian window with σ = 1.5, K1 = 0.01, K2 = 0.03, data range 1, the mean over all
 * window positions that fit inside the image (and over channels).
 */
public final class ImageMetrics {
    private ImageMetrics() {}

    private static double unit(float v) { return Math.min(1, Math.max(0, (v + 1) / 2.0)); }

    /** 10·log10(1 / MSE); +∞ for identical images. a and b hold C·H·W values. */
    public static double psnr(float[] a, float[] b) {
        double mse = 0;
        for (int i = 0; i < a.length; i++) {
            double d = unit(a[i]) - unit(b[i]);
            mse += d * d;
        }
        mse /= a.length;
        return mse == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(1 / mse);
    }

    public static double ssim(float[] a, float[] b, int channels, int h, int w) {
        int k = 11, r = 5;
        if (h < k || w < k) throw new IllegalArgumentException("SSIM: images of " + h + "×" + w + " are smaller than the 11×11 window");
        double[] g = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++) sum += g[i] = Math.exp(-((i - r) * (i - r)) / (2 * 1.5 * 1.5));
        for (int i = 0; i < k; i++) g[i] /= sum;
        double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03, total = 0;
        int count = 0;
        for (int c = 0; c < channels; c++) {
            int o = c * h * w;
            for (int y = 0; y + k <= h; y++) {
                for (int x = 0; x + k <= w; x++) {
                    double ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
                    for (int dy = 0; dy < k; dy++) {
                        for (int dx = 0; dx < k; dx++) {
                            double wt = g[dy] * g[dx], va = unit(a[o + (y + dy) * w + x + dx]), vb = unit(b[o + (y + dy) * w + x + dx]);
                            ma += wt * va;
                            mb += wt * vb;
                            saa += wt * va * va;
                            sbb += wt * vb * vb;
                            sab += wt * va * vb;
                        }
                    }
                    saa -= ma * ma;
                    sbb -= mb * mb;
                    sab -= ma * mb;
                    total += ((2 * ma * mb + c1) * (2 * sab + c2)) / ((ma * ma + mb * mb + c1) * (saa + sbb + c2));
                    count++;
                }
            }
        }
        return total / count;
    }
}
