package org.deltadit.sampler;

import java.util.Arrays;
import org.deltadit.engine.InvalidParameter;

/**
 * Dynamic thresholding of the predicted x0 (Imagen; diffusers' {@code thresholding=True} with
 * {@code dynamic_thresholding_ratio} and {@code sample_max_value}): per image, s = the {@code ratio} quantile of
 * |x0| over all its values, held to [1, maxValue]; x0 becomes clamp(x0, −s, s) / s. Strong guidance pushes a
 * pixel-space model's x0 past the data's range; this pulls the outliers in and rescales the rest instead of
 * flattening them at ±1 as {@link Sampler#clipSample} does. With maxValue 1 it is that clamp to [−1, 1].
 */
public record Thresholding(double ratio, double maxValue) implements java.io.Serializable {
    public Thresholding {
        if (!(ratio > 0 && ratio <= 1)) throw new InvalidParameter("thresholding", "ratio " + ratio + " (a quantile above 0, at most 1)");
        if (!(maxValue >= 1 && maxValue <= 1e6)) throw new InvalidParameter("thresholding", "sample max value " + maxValue + " (1..1e6; s is held to at least 1)");
    }

    /** "RATIO" or "RATIO,MAX" (MAX 1 when left out, as diffusers' sample_max_value defaults); null (a flag not given): null. */
    public static Thresholding parse(String spec) {
        if (spec == null) return null;
        String[] p = spec.trim().split(",", -1);
        if (p.length > 2) throw new InvalidParameter("thresholding", "'" + spec + "' (RATIO or RATIO,MAX, e.g. 0.995,1.5)");
        try {
            return new Thresholding(Double.parseDouble(p[0].trim()), p.length == 2 ? Double.parseDouble(p[1].trim()) : 1);
        } catch (NumberFormatException e) {
            throw new InvalidParameter("thresholding", "'" + spec + "' (RATIO or RATIO,MAX, e.g. 0.995,1.5)");
        }
    }

    /** Thresholds {@code x0} in place, image by image ({@code perImage} values each). */
    public void apply(double[] x0, int perImage) {
        double[] abs = new double[perImage];
        for (int at = 0; at < x0.length; at += perImage) {
            for (int k = 0; k < perImage; k++) abs[k] = Math.abs(x0[at + k]);
            double s = Math.max(1, Math.min(maxValue, quantile(abs)));
            for (int k = 0; k < perImage; k++) x0[at + k] = Math.max(-s, Math.min(s, x0[at + k])) / s;
        }
    }

    /** The {@code ratio} quantile of {@code v} (sorted in place), interpolated linearly between order statistics as torch.quantile does. */
    double quantile(double[] v) {
        Arrays.sort(v);
        double pos = ratio * (v.length - 1);
        int lo = (int) Math.floor(pos), hi = Math.min(v.length - 1, lo + 1);
        return v[lo] + (pos - lo) * (v[hi] - v[lo]);
    }

    @Override
    public String toString() { return ratio + "," + maxValue; }
}
