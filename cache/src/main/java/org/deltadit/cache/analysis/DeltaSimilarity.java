package org.deltadit.cache.analysis;

import org.deltadit.cache.BlockRunner;
import org.deltadit.engine.Tensor;

/**
 * Paper Fig. 4c: how alike a block's change Δ_i = h_{i+1} − h_i is between adjacent steps. As a
 * {@link BlockRunner.BlockObserver} it keeps the previous step's Δ of every block and records
 * cos(Δ_i at step s, Δ_i at step s − 1) for each row of the batch; {@link #matrix} averages the rows.
 */
public final class DeltaSimilarity implements BlockRunner.BlockObserver {
    private final int depth, steps;
    private final float[][] previous;
    private final double[][] sum;
    private final int[][] count;

    public DeltaSimilarity(int depth, int steps) {
        this.depth = depth;
        this.steps = steps;
        this.previous = new float[depth][];
        this.sum = new double[depth][steps + 1];
        this.count = new int[depth][steps + 1];
    }

    @Override
    public void afterBlock(int step, int block, Tensor in, Tensor out) {
        float[] a = in.toFloatArray(), b = out.toFloatArray();
        float[] delta = new float[a.length];
        for (int k = 0; k < a.length; k++) delta[k] = b[k] - a[k];
        float[] prev = previous[block];
        if (prev != null && prev.length == delta.length && step >= 2) {
            int rows = in.dim(0), per = delta.length / rows;
            for (int r = 0; r < rows; r++) {
                sum[block][step] += cosine(delta, prev, r * per, per);
                count[block][step]++;
            }
        }
        previous[block] = delta;
    }

    static double cosine(float[] x, float[] y, int off, int n) {
        double dot = 0, nx = 0, ny = 0;
        for (int i = off; i < off + n; i++) {
            dot += (double) x[i] * y[i];
            nx += (double) x[i] * x[i];
            ny += (double) y[i] * y[i];
        }
        return nx == 0 || ny == 0 ? 0 : dot / Math.sqrt(nx * ny);
    }

    /** [block][step − 2] for steps 2..T: the mean cosine similarity with the step before. */
    public double[][] matrix() {
        double[][] m = new double[depth][steps - 1];
        for (int i = 0; i < depth; i++) for (int s = 2; s <= steps; s++) m[i][s - 2] = count[i][s] == 0 ? Double.NaN : sum[i][s] / count[i][s];
        return m;
    }

    /** Starts a new batch of images (Δ of different images must not be compared). */
    public void newBatch() { java.util.Arrays.fill(previous, null); }
}
