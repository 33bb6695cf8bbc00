package org.deltadit.eval;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * How far the digit CNN's FID differences between rows can be trusted: a paired bootstrap over the images. Every
 * resample draws n image indices with replacement, the same indices for every row (rows share classes and noise, so
 * image i of two rows is a pair), and computes each row's FID from its resampled features. A difference whose 95 %
 * interval holds 0, or a row that beats another in about half the resamples, is inside what this FID resolves at
 * this n. Resampling with replacement repeats images, which raises every FID by about the same amount; the
 * differences between rows, which is what is reported, are the reliable part.
 *
 * @param fids {@code fids[row][b]}: row's FID in resample b
 */
public record FidBootstrap(int count, long seed, double[][] fids) {
    /** At least this many resamples: with fewer, the 2.5th and 97.5th percentiles are a single resample each. */
    public static final int MIN_RESAMPLES = 20;

    /** Refuses fewer than {@link #MIN_RESAMPLES} resamples, and a run without the digit CNN's FID ({@code real} null), in one line. */
    public static void check(int resamples, Fid.Stats real) {
        if (resamples < MIN_RESAMPLES) throw new IllegalArgumentException("--bootstrap: " + resamples + " resamples (at least " + MIN_RESAMPLES + "; 200 is typical)");
        if (real == null) throw new IllegalArgumentException("--bootstrap: needs the digit CNN's FID (classifier.safetensors and fid_stats.safetensors beside the model, or --classifier)");
    }

    /**
     * {@code resamples} paired resamples of the rows' per-image CNN features (all rows must hold the same images)
     * against {@code real}; {@code seed} picks the resamples.
     */
    public static FidBootstrap of(RowStats[] rows, Fid.Stats real, int resamples, long seed) {
        check(resamples, rows[0].cnnByImage == null ? null : real);
        List<Integer> images = List.copyOf(rows[0].cnnByImage.keySet());
        int n = images.size();
        if (n < 2) throw new IllegalArgumentException("--bootstrap: needs at least 2 images per row, got " + n);
        double[][][] x = new double[rows.length][][];
        for (int r = 0; r < rows.length; r++) {
            if (!rows[r].cnnByImage.keySet().equals(rows[0].cnnByImage.keySet())) throw new IllegalArgumentException("bootstrap: rows 0 and " + r + " hold different images");
            x[r] = new double[n][];
            for (int i = 0; i < n; i++) {
                float[] f = rows[r].cnnByImage.get(images.get(i));
                x[r][i] = new double[f.length];
                for (int j = 0; j < f.length; j++) x[r][i][j] = f[j];
            }
        }
        SplittableRandom random = new SplittableRandom(seed);
        int[] times = new int[n];
        double[][] fids = new double[rows.length][resamples];
        for (int b = 0; b < resamples; b++) {
            Arrays.fill(times, 0);
            for (int i = 0; i < n; i++) times[random.nextInt(n)]++;
            for (int r = 0; r < rows.length; r++) fids[r][b] = Fid.distance(weighted(x[r], times), real);
        }
        return new FidBootstrap(n, seed, fids);
    }

    /**
     * Mean and unbiased covariance of a set in which row i appears {@code times[i]} times: Yᵀ·Y/(n − 1) with
     * Y's rows √times[i]·(x_i − μ), one EJML product instead of n rank-one updates.
     */
    static Fid.Stats weighted(double[][] x, int[] times) {
        int n = 0, d = x[0].length;
        double[] mu = new double[d];
        for (int i = 0; i < x.length; i++) {
            n += times[i];
            for (int j = 0; j < d; j++) mu[j] += times[i] * x[i][j];
        }
        for (int j = 0; j < d; j++) mu[j] /= n;
        DMatrixRMaj y = new DMatrixRMaj(x.length, d), s = new DMatrixRMaj(d, d);
        for (int i = 0; i < x.length; i++) {
            double w = Math.sqrt(times[i]);
            for (int j = 0; j < d; j++) y.unsafe_set(i, j, w * (x[i][j] - mu[j]));
        }
        CommonOps_DDRM.multTransA(y, y, s);
        double[][] sigma = new double[d][d];
        for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) sigma[i][j] = s.get(i, j) / (n - 1);
        return new Fid.Stats(mu, sigma, n);
    }

    public int resamples() { return fids[0].length; }

    /** The 2.5th and 97.5th percentiles (linear interpolation) of FID(row) − FID(other) over the resamples. */
    public double[] differenceInterval(int row, int other) {
        double[] d = new double[resamples()];
        for (int b = 0; b < d.length; b++) d[b] = fids[row][b] - fids[other][b];
        Arrays.sort(d);
        return new double[] {percentile(d, 0.025), percentile(d, 0.975)};
    }

    /** The share of resamples in which row's FID is lower than other's. */
    public double shareLower(int row, int other) {
        int lower = 0;
        for (int b = 0; b < resamples(); b++) if (fids[row][b] < fids[other][b]) lower++;
        return lower / (double) resamples();
    }

    /** Of sorted values, the p quantile with linear interpolation between order statistics (numpy's default). */
    static double percentile(double[] sorted, double p) {
        double at = p * (sorted.length - 1);
        int lo = (int) Math.floor(at), hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (at - lo) * (sorted[hi] - sorted[lo]);
    }

    /**
     * The Markdown table under the comparison: each row's FID difference from the first row with its 95 % interval,
     * and the share of resamples in which it has the lower FID than each other row.
     */
    public void print(PrintStream out, List<String> labels) {
        out.printf(Locale.ROOT, "%nPaired bootstrap of the FID: %d resamples of the %d images (the same images in every row, seed %d). "
                + "Cell (row, column): the share of resamples in which the row's FID is lower than the column's.%n%n", resamples(), count, seed);
        StringBuilder head = new StringBuilder("| Method | FID − " + labels.get(0) + ", 95 % interval |"), rule = new StringBuilder("|---|---|");
        for (int k = 0; k < labels.size(); k++) {
            head.append(" < ").append(k + 1).append(" |");
            rule.append("---|");
        }
        out.println(head);
        out.println(rule);
        for (int r = 0; r < labels.size(); r++) {
            double[] d = differenceInterval(r, 0);
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "| %d. %s | %s |", r + 1, labels.get(r),
                    r == 0 ? "ref" : String.format(Locale.ROOT, "[%+.2f, %+.2f]", d[0], d[1])));
            for (int k = 0; k < labels.size(); k++) line.append(k == r ? " – |" : String.format(Locale.ROOT, " %.2f |", shareLower(r, k)));
            out.println(line);
        }
    }
}
