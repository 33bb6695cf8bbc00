package org.deltadit.cache.analysis;

import org.jtransforms.fft.DoubleFFT_2D;

/**
 * Paper eq. 4–5 and Fig. 5: the relative log magnitude of an image's spectrum, log(|F(u,v)| / max |F|),
 * averaged over rings of equal frequency radius (centred spectrum, integer radius bins) and then over
 * images and channels. The 2-D FFT is JTransforms'.
 */
public final class Fourier {
    private Fourier() {}

    /** Radial profile of one h×w plane: element r is the mean over the ring round(radius) = r, up to the corner. */
    public static double[] radialProfile(float[] plane, int h, int w) {
        double[] a = new double[2 * h * w];
        for (int i = 0; i < h * w; i++) a[i] = plane[i];
        new DoubleFFT_2D(h, w).realForwardFull(a);
        double[] mag = new double[h * w];
        double max = 0;
        for (int i = 0; i < h * w; i++) {
            mag[i] = Math.hypot(a[2 * i], a[2 * i + 1]);
            max = Math.max(max, mag[i]);
        }
        int bins = (int) Math.round(Math.hypot(h / 2, w / 2)) + 1; // the corner is the farthest ring
        double[] sum = new double[bins];
        int[] n = new int[bins];
        double floor = max == 0 ? 1 : max * 1e-12; // log of an exact zero would be −∞
        for (int u = 0; u < h; u++) {
            for (int v = 0; v < w; v++) {
                // frequency of FFT index u is u (u < h/2) or u − h: the centred distance from DC
                int fu = u <= h / 2 ? u : u - h, fv = v <= w / 2 ? v : v - w;
                int r = (int) Math.round(Math.sqrt((double) fu * fu + (double) fv * fv));
                sum[r] += Math.log(Math.max(mag[u * w + v], floor) / (max == 0 ? 1 : max));
                n[r]++;
            }
        }
        double[] out = new double[bins];
        for (int r = 0; r < bins; r++) out[r] = n[r] == 0 ? Double.NaN : sum[r] / n[r];
        return out;
    }

    /** Mean radial profile of images [B, C, H, W] over images and channels. */
    public static double[] meanProfile(float[] images, int b, int c, int h, int w) {
        double[] mean = null;
        for (int p = 0; p < b * c; p++) {
            double[] prof = radialProfile(java.util.Arrays.copyOfRange(images, p * h * w, (p + 1) * h * w), h, w);
            if (mean == null) mean = new double[prof.length];
            for (int r = 0; r < prof.length; r++) mean[r] += prof[r] / (b * c);
        }
        return mean;
    }
}
