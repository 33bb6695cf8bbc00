package org.deltadit.cache;

import java.util.ArrayList;
import java.util.List;
import org.deltadit.dit.BlockStack;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;

/**
 * The run-time side of the policies decided per row ({@link CachePolicy.FirstBlock}, {@link CachePolicy.TeaCache})
 * for one batch: each row — an image in a guidance branch — keeps its own signal and residual, so two images,
 * or the two branches of one, decide apart. Rows that compute run the blocks with the conditioning of their own
 * contiguous run of rows; rows that skip add the residual their blocks made at the row's last computed step.
 * The first and the last step always compute. Counts the MACs of what ran.
 * <ul>
 * <li>First-Block Cache: block 0 runs for every row; a row skips the others while the relative L1 change of
 *     block 0's residual against the one of its last computed step stays under the threshold.</li>
 * <li>TeaCache: no block runs until decided; the relative L1 change of block 0's modulated input against the
 *     previous step's, rescaled by the policy's polynomial, is summed over the skipped steps; a row computes
 *     (and the sum restarts) once it reaches the threshold.</li>
 * </ul>
 */
final class RowCacheRunner<C> {
    /** Time spent inside the model's blocks (see BlockRunner#blockNanos). */
    private long blockNanos;
    private final BlockStack<C> model;
    private final CachePolicy policy;
    private final int rows, start; // blocks [start, depth) run for computing rows; [0, start) for every row
    private final Tensor[] signal, residual;
    private final double[] accumulated;
    private final List<Integer> reusedPerStep = new ArrayList<>();
    private long macs, macsWithAttention;
    private final long outside, always, rest, attentionPerBlock;

    RowCacheRunner(BlockStack<C> model, CachePolicy policy, int rows, org.deltadit.weights.ModelConfig cfg) {
        if (!(policy instanceof CachePolicy.FirstBlock || policy instanceof CachePolicy.TeaCache)) throw new IllegalArgumentException("not a per-row policy: " + policy.describe());
        this.model = model;
        this.policy = policy;
        this.rows = rows;
        this.start = policy instanceof CachePolicy.FirstBlock ? 1 : 0;
        this.signal = new Tensor[rows];
        this.residual = new Tensor[rows];
        this.accumulated = new double[rows];
        this.outside = MacCount.outside(cfg);
        this.always = MacCount.blocks(cfg, 0, start);
        this.rest = MacCount.blocks(cfg, start, cfg.depth());
        this.attentionPerBlock = MacCount.attentionPerBlock(cfg);
    }

    /** The hidden state leaving the last block for rows [0, rows) at step {@code step} of {@code steps}; {@code all} is their conditioning. */
    Tensor run(Tensor in, C all, Conditioner<C> conditioner, float t, int step, int steps) {
        Backend be = model.backend();
        if (in.dim(0) != rows) throw new IllegalStateException(policy.describe() + ": a batch of " + in.dim(0) + " rows for a state of " + rows);
        Tensor h0 = model.embed(in, all);
        long t0 = System.nanoTime();
        Tensor from = start == 1 ? model.block(0, h0, all) : h0;
        blockNanos += System.nanoTime() - t0;
        Tensor now = start == 1 ? be.sub(from, h0) : model.modulatedInput(0, h0, all);
        boolean[] reuse = new boolean[rows];
        int reused = 0;
        for (int i = 0; i < rows; i++) {
            boolean edge = step == 1 || step == steps || residual[i] == null;
            Tensor s = now.select(0, i).contiguous();
            if (policy instanceof CachePolicy.TeaCache tc) {
                if (!edge) accumulated[i] += tc.rescale(relativeL1(s, signal[i]));
                reuse[i] = !edge && accumulated[i] < tc.threshold();
                if (!reuse[i]) accumulated[i] = 0;
                signal[i] = s; // TeaCache compares consecutive steps
            } else {
                reuse[i] = !edge && relativeL1(s, signal[i]) < ((CachePolicy.FirstBlock) policy).threshold();
                if (!reuse[i]) signal[i] = s; // FBCache compares with the last computed step
            }
            if (reuse[i]) reused++;
        }
        Tensor[] out = new Tensor[rows];
        for (int a = 0; a < rows; ) {
            int b = a + 1;
            while (b < rows && reuse[b] == reuse[a]) b++;
            if (reuse[a]) {
                for (int i = a; i < b; i++) out[i] = be.add(from.slice(0, i, i + 1), residual[i]);
            } else {
                C c = conditioner.condition(t, a, b);
                Tensor h = from.slice(0, a, b).contiguous();
                long t1 = System.nanoTime();
                for (int k = start; k < model.depth(); k++) h = model.block(k, h, c);
                blockNanos += System.nanoTime() - t1;
                for (int i = a; i < b; i++) {
                    out[i] = h.slice(0, i - a, i - a + 1);
                    residual[i] = be.sub(out[i], from.slice(0, i, i + 1)).contiguous();
                }
            }
            a = b;
        }
        reusedPerStep.add(reused);
        int computed = rows - reused;
        macs += rows * (outside + always) + computed * rest;
        macsWithAttention += rows * (outside + always + start * attentionPerBlock) + computed * (rest + (model.depth() - start) * attentionPerBlock);
        return Tensor.concat(0, out);
    }

    /** mean|a − b| / mean|b|, the change both policies compare. */
    static double relativeL1(Tensor a, Tensor b) { return Signals.relativeL1(a, b); }

    long macs() { return macs; }

    long macsWithAttention() { return macsWithAttention; }

    /** Rows that skipped their blocks at each step so far. */
    List<Integer> reusedPerStep() { return List.copyOf(reusedPerStep); }

    long blockNanos() { return blockNanos; }
}
