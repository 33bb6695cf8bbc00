package org.deltadit.cache;

import java.util.ArrayList;
import java.util.List;
import org.deltadit.dit.BlockStack;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;

/**
 * The run-time side of the policies decided per row ({@link CachePolicy#runTime}) for one batch: each row — an
 * image in a guidance branch — keeps its own signal and Δ, so two images, or the two branches of one, decide
 * apart. Each step splits the blocks into a lead [0, a) that every row runs, a span [a, c) that only computing
 * rows run (a reusing row adds the Δ its span made at the row's last computed step) and a tail [c, depth) that
 * every row runs again. Rows that compute run the span with the conditioning of their own contiguous run of
 * rows. The first and the last step always compute, as does a row whose stored Δ spans other blocks. Counts
 * the MACs of what ran.
 * <ul>
 * <li>First-Block Cache: lead block 0, span the rest; a row reuses while the relative L1 change of block 0's
 *     residual against the one of its last computed step stays under the threshold.</li>
 * <li>TeaCache: span all blocks; the relative L1 change of block 0's modulated input against the previous
 *     step's, rescaled by the policy's polynomial, is summed over the reused steps; a row computes (and the
 *     sum restarts) once it reaches the threshold.</li>
 * <li>Adaptive Δ (ours): while s ≤ b the span is the rear N_c blocks and the signal the lead's residual, after
 *     it the span is the front N_c blocks and the signal block 0's modulated input; each against the row's last
 *     computed step, under the threshold and at most max_skips reuses in a row.</li>
 * </ul>
 */
final class RowCacheRunner<C> {
    /** Time spent inside the model's blocks (see BlockRunner#blockNanos). */
    private long blockNanos;
    private final BlockStack<C> model;
    private final CachePolicy policy;
    private final org.deltadit.weights.ModelConfig cfg;
    private final int rows;
    private final Tensor[] signal, residual, previous; // previous: the Δ of the computed step before, for the forecast
    private final int[] residualFrom, skips, computedAt, previousAt;
    private final double[] accumulated;
    private final List<Integer> reusedPerStep = new ArrayList<>();
    private long macs, macsWithAttention;
    private final long outside, attentionPerBlock;

    RowCacheRunner(BlockStack<C> model, CachePolicy policy, int rows, org.deltadit.weights.ModelConfig cfg) {
        if (!CachePolicy.runTime(policy)) throw new IllegalArgumentException("not a per-row policy: " + policy.describe());
        this.model = model;
        this.policy = policy;
        this.cfg = cfg;
        this.rows = rows;
        this.signal = new Tensor[rows];
        this.residual = new Tensor[rows];
        this.previous = new Tensor[rows];
        this.residualFrom = new int[rows];
        this.computedAt = new int[rows];
        this.previousAt = new int[rows];
        this.skips = new int[rows];
        this.accumulated = new double[rows];
        this.outside = MacCount.outside(cfg);
        this.attentionPerBlock = MacCount.attentionPerBlock(cfg);
    }

    /** The span [a, c) of step {@code step}: the blocks a reusing row skips. */
    private int[] span(int step, int steps) {
        int depth = model.depth();
        return switch (policy) {
            case CachePolicy.FirstBlock f -> new int[] {1, depth};
            case CachePolicy.AdaptiveDelta ad -> {
                int nc = ad.cached(depth);
                yield step <= ad.boundary(steps) ? new int[] {depth - nc, depth} : new int[] {0, nc};
            }
            default -> new int[] {0, depth};
        };
    }

    /** The hidden state leaving the last block for rows [0, rows) at step {@code step} of {@code steps}; {@code all} is their conditioning. */
    Tensor run(Tensor in, C all, Conditioner<C> conditioner, float t, int step, int steps) {
        Backend be = model.backend();
        if (in.dim(0) != rows) throw new IllegalStateException(policy.describe() + ": a batch of " + in.dim(0) + " rows for a state of " + rows);
        int depth = model.depth();
        int[] span = span(step, steps);
        int a = span[0], c = span[1];
        Tensor h0 = model.embed(in, all);
        long t0 = System.nanoTime();
        Tensor from = h0;
        if (a > 0) from = model.blocks(0, a, from, all);
        blockNanos += System.nanoTime() - t0;
        Tensor now = a > 0 ? be.sub(from, h0) : model.modulatedInput(0, h0, all);
        boolean[] reuse = new boolean[rows];
        int reused = 0;
        for (int i = 0; i < rows; i++) {
            boolean edge = step == 1 || step == steps || residual[i] == null || residualFrom[i] != a;
            Tensor s = now.select(0, i).contiguous();
            switch (policy) {
                case CachePolicy.TeaCache tc -> {
                    if (!edge) accumulated[i] += tc.rescale(relativeL1(s, signal[i]));
                    reuse[i] = !edge && accumulated[i] < tc.threshold();
                    if (!reuse[i]) accumulated[i] = 0;
                    signal[i] = s; // TeaCache compares consecutive steps
                }
                case CachePolicy.AdaptiveDelta ad -> {
                    reuse[i] = !edge && skips[i] < ad.maxSkips() && relativeL1(s, signal[i]) < ad.threshold();
                    skips[i] = reuse[i] ? skips[i] + 1 : 0;
                    if (!reuse[i]) signal[i] = s; // against the row's last computed step
                }
                default -> {
                    reuse[i] = !edge && relativeL1(s, signal[i]) < ((CachePolicy.FirstBlock) policy).threshold();
                    if (!reuse[i]) signal[i] = s; // FBCache compares with the last computed step
                }
            }
            if (reuse[i]) reused++;
        }
        Tensor[] out = new Tensor[rows];
        for (int r0 = 0; r0 < rows; ) {
            int r1 = r0 + 1;
            while (r1 < rows && reuse[r1] == reuse[r0]) r1++;
            if (reuse[r0]) {
                for (int i = r0; i < r1; i++) out[i] = be.add(from.slice(0, i, i + 1), reused(i, step));
            } else {
                C cond = conditioner.condition(t, r0, r1);
                Tensor h = from.slice(0, r0, r1).contiguous();
                long t1 = System.nanoTime();
                h = model.blocks(a, c, h, cond);
                blockNanos += System.nanoTime() - t1;
                for (int i = r0; i < r1; i++) {
                    out[i] = h.slice(0, i - r0, i - r0 + 1);
                    boolean sameSpan = residual[i] != null && residualFrom[i] == a;
                    previous[i] = sameSpan ? residual[i] : null;
                    previousAt[i] = computedAt[i];
                    residual[i] = be.sub(out[i], from.slice(0, i, i + 1)).contiguous();
                    residualFrom[i] = a;
                    computedAt[i] = step;
                }
            }
            r0 = r1;
        }
        Tensor h = Tensor.concat(0, out);
        long t2 = System.nanoTime();
        if (c < depth) h = model.blocks(c, depth, h, all);
        blockNanos += System.nanoTime() - t2;
        reusedPerStep.add(reused);
        int computed = rows - reused;
        long shared = MacCount.blocks(cfg, 0, a) + MacCount.blocks(cfg, c, depth), spanMacs = MacCount.blocks(cfg, a, c);
        macs += rows * (outside + shared) + computed * spanMacs;
        macsWithAttention += rows * (outside + shared + (long) (a + depth - c) * attentionPerBlock) + computed * (spanMacs + (long) (c - a) * attentionPerBlock);
        return h;
    }

    /**
     * The Δ row i adds at {@code step}: its last computed one, or with the adaptive policy's forecast
     * Δ(f₂) + (Δ(f₂) − Δ(f₁))·(s − f₂)/(f₂ − f₁) from its two latest computed steps of the same span.
     */
    private Tensor reused(int i, int step) {
        if (!(policy instanceof CachePolicy.AdaptiveDelta ad && ad.forecast()) || previous[i] == null) return residual[i];
        return DeltaStore.extrapolate(residual[i], computedAt[i], previous[i], previousAt[i], step, model.backend());
    }

    /** mean|a − b| / mean|b|, the change the policies compare. */
    static double relativeL1(Tensor a, Tensor b) { return Signals.relativeL1(a, b); }

    long macs() { return macs; }

    long macsWithAttention() { return macsWithAttention; }

    /** Rows that skipped their span at each step so far. */
    List<Integer> reusedPerStep() { return List.copyOf(reusedPerStep); }

    long blockNanos() { return blockNanos; }
}
