package org.deltadit.cache;

import java.util.ArrayList;
import java.util.List;
import org.deltadit.dit.BlockStack;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;

/**
 * The run-time side of {@link CachePolicy.FirstBlock} for one batch: block 0 runs for every row; each row
 * then either runs the other blocks (with the conditioning of its own contiguous run of rows) or adds the
 * residual those blocks made at its last computed step. State is per row (image × guidance branch), so two
 * images — or the two branches of one — decide apart. Counts the MACs of what ran.
 */
final class FirstBlockRunner<C> {
    private final BlockStack<C> model;
    private final CachePolicy.FirstBlock policy;
    private final int rows;
    private final Tensor[] lastResidual, rest;
    private final List<Integer> reusedPerStep = new ArrayList<>();
    private long macs, macsWithAttention;
    private final long outside, first, others, attentionPerBlock;

    FirstBlockRunner(BlockStack<C> model, CachePolicy.FirstBlock policy, int rows, org.deltadit.weights.ModelConfig cfg) {
        this.model = model;
        this.policy = policy;
        this.rows = rows;
        this.lastResidual = new Tensor[rows];
        this.rest = new Tensor[rows];
        this.outside = MacCount.outside(cfg);
        this.first = MacCount.blocks(cfg, 0, 1);
        this.others = MacCount.blocks(cfg, 1, cfg.depth());
        this.attentionPerBlock = MacCount.attentionPerBlock(cfg);
    }

    /** The hidden state leaving the last block for rows [0, rows) at step {@code step} of {@code steps}; {@code all} is their conditioning. */
    Tensor run(Tensor in, C all, Conditioner<C> conditioner, float t, int step, int steps) {
        Backend be = model.backend();
        if (in.dim(0) != rows) throw new IllegalStateException("fbcache: a batch of " + in.dim(0) + " rows for a state of " + rows);
        Tensor h0 = model.embed(in, all), h1 = model.block(0, h0, all), residual = be.sub(h1, h0);
        boolean[] reuse = new boolean[rows];
        int reused = 0;
        for (int i = 0; i < rows; i++) {
            boolean edge = step == 1 || step == steps || rest[i] == null;
            reuse[i] = !edge && relativeL1(residual.select(0, i), lastResidual[i]) < policy.threshold();
            if (reuse[i]) reused++;
        }
        Tensor[] out = new Tensor[rows];
        for (int a = 0; a < rows; ) {
            int b = a + 1;
            while (b < rows && reuse[b] == reuse[a]) b++;
            if (reuse[a]) {
                for (int i = a; i < b; i++) out[i] = be.add(h1.slice(0, i, i + 1), rest[i]);
            } else {
                C c = conditioner.condition(t, a, b);
                Tensor h = h1.slice(0, a, b).contiguous();
                for (int k = 1; k < model.depth(); k++) h = model.block(k, h, c);
                for (int i = a; i < b; i++) {
                    out[i] = h.slice(0, i - a, i - a + 1);
                    rest[i] = be.sub(out[i], h1.slice(0, i, i + 1)).contiguous();
                    lastResidual[i] = residual.select(0, i).contiguous();
                }
            }
            a = b;
        }
        reusedPerStep.add(reused);
        int computed = rows - reused;
        macs += rows * (outside + first) + computed * others;
        macsWithAttention += rows * (outside + first + attentionPerBlock) + computed * (others + (model.depth() - 1) * attentionPerBlock);
        return Tensor.concat(0, out);
    }

    /** Σ|a − b| / Σ|b|, the change FBCache compares with its threshold. */
    static double relativeL1(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double num = 0, den = 0;
        for (int k = 0; k < x.length; k++) {
            num += Math.abs(x[k] - y[k]);
            den += Math.abs(y[k]);
        }
        return den == 0 ? Double.POSITIVE_INFINITY : num / den;
    }

    long macs() { return macs; }

    long macsWithAttention() { return macsWithAttention; }

    /** Rows that reused the residual at each step so far. */
    List<Integer> reusedPerStep() { return List.copyOf(reusedPerStep); }
}
