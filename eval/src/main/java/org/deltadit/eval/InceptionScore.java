package org.deltadit.eval;

import java.io.Serializable;

/**
 * Inception Score (Salimans et al. 2016) as the original code computes it: the N images in order are cut
 * into {@code splits} parts at k·N/splits (integer division), and each part scores exp(E_x KL(p(y|x) ‖ p(y)))
 * with p(y) the part's mean; the result is the mean and standard deviation (population) of the parts'
 * scores. Since KL's mean is E_x Σ p log p − Σ p̄ log p̄, a part needs only Σ_x p(y|x) and Σ_x Σ_y p log p:
 * sums that merge, so images scored on several machines give the score of the whole.
 */
public final class InceptionScore implements Serializable {
    private final int total, splits, classes;
    private final ExactSums probs;      // [split, class] Σ p(y|x)
    private final ExactSums negEntropy; // [split] Σ_x Σ_y p log p
    private final int[] counts;

    /** Sums for a run of {@code total} images scored in {@code splits} parts (10 in the standard code; fewer when there are fewer images). */
    public InceptionScore(int total, int splits, int classes) {
        if (total < 1 || splits < 1 || classes < 2) throw new IllegalArgumentException("IS: " + total + " images, " + splits + " splits, " + classes + " classes");
        this.total = total;
        this.splits = Math.min(splits, total);
        this.classes = classes;
        probs = new ExactSums(this.splits * classes);
        negEntropy = new ExactSums(this.splits);
        counts = new int[this.splits];
    }

    /** The part of image {@code index}: the k with k·N/splits ≤ index &lt; (k+1)·N/splits. */
    int split(int index) {
        int k = (int) ((long) index * splits / total);
        while ((long) (k + 1) * total / splits <= index) k++;
        while ((long) k * total / splits > index) k--;
        return k;
    }

    /** Adds image {@code index}'s logits (softmax taken here, in double). */
    public void add(int index, float[] logits) {
        if (logits.length != classes) throw new IllegalArgumentException("IS: " + logits.length + " logits, expected " + classes);
        if (index < 0 || index >= total) throw new IllegalArgumentException("IS: image " + index + " of " + total);
        int k = split(index);
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float l : logits) max = Math.max(max, l);
        double[] p = new double[classes];
        for (int y = 0; y < classes; y++) sum += p[y] = Math.exp(logits[y] - max);
        double h = 0;
        for (int y = 0; y < classes; y++) {
            p[y] /= sum;
            probs.add(k * classes + y, p[y]);
            if (p[y] > 0) h += p[y] * Math.log(p[y]);
        }
        negEntropy.add(k, h);
        counts[k]++;
    }

    public InceptionScore merge(InceptionScore o) {
        if (o.total != total || o.splits != splits || o.classes != classes) throw new IllegalArgumentException("IS: sums of different runs");
        probs.merge(o.probs);
        negEntropy.merge(o.negEntropy);
        for (int k = 0; k < splits; k++) counts[k] += o.counts[k];
        return this;
    }

    /** {mean, std} of the parts' scores; every image must have been added. */
    public double[] score() {
        double[] s = new double[splits];
        for (int k = 0; k < splits; k++) {
            int want = (int) ((long) (k + 1) * total / splits - (long) k * total / splits);
            if (counts[k] != want) throw new IllegalStateException("IS: part " + k + " has " + counts[k] + " of its " + want + " images");
            double kl = negEntropy.get(k) / counts[k];
            for (int y = 0; y < classes; y++) {
                double py = probs.get(k * classes + y) / counts[k];
                if (py > 0) kl -= py * Math.log(py);
            }
            s[k] = Math.exp(kl);
        }
        double mean = 0, var = 0;
        for (double v : s) mean += v / splits;
        for (double v : s) var += (v - mean) * (v - mean) / splits;
        return new double[] {mean, Math.sqrt(var)};
    }
}
