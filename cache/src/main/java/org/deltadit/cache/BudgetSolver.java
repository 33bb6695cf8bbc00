package org.deltadit.cache;

import org.deltadit.weights.ModelConfig;

/**
 * Δ-DiT's hyper-parameters from a target speedup (paper eq. 6–7): with M_g = MACs(full run) / X,
 * N = ⌈T·N_b·M_b / M_g⌉ (at least 2), then N_c so that the run spends as much of M_g as it can without
 * exceeding it: the fewest cached blocks that fit (eq. 7 counts the computation the budget leaves; more
 * cached blocks always fit, fewer cost quality nothing). Where no N_c fits at that N, the next longer interval. 1.59× gives the paper's N = 2, N_c = 21. A target
 * no plan can reach is an error that names the best reachable speedup.
 */
public final class BudgetSolver {
    private BudgetSolver() {}

    public static CachePolicy.DeltaDit solve(double speedup, int steps, int b, boolean reverse, ModelConfig c, int branches) {
        return solve(speedup, steps, c, branches, (n, nc) -> new CachePolicy.DeltaDit(b, n, nc, reverse));
    }

    /**
     * The same solution for any policy that caches {@code nc} blocks refreshed every {@code n} steps ({@code make}
     * builds it; a Δ-Cache placed at the front, middle or rear, say): the interval from the budget, then the fewest
     * cached blocks that fit.
     */
    public static <P extends CachePolicy> P solve(double speedup, int steps, ModelConfig c, int branches, java.util.function.BiFunction<Integer, Integer, P> make) {
        if (!(speedup >= 1)) throw new org.deltadit.engine.InvalidParameter("speedup", speedup + " (at least 1)");
        if (speedup == 1 || steps < 2) return make.apply(CachePolicy.DEFAULT_INTERVAL, 0); // nothing to save
        int depth = c.depth();
        long full = Plan.uncachedMacs(c, steps, 1, branches);
        double budget = full / speedup;
        double blockMacs = branches * (double) MacCount.blocks(c, 0, 1);
        int n = Math.max(2, (int) Math.ceil(steps * depth * blockMacs / budget));
        n = Math.min(n, steps);
        // eq. 6's N assumes every step can skip; where only part of the run does (Δ-DiT's two stages), a longer
        // interval is tried next, so the first N that fits is the one that refreshes most often
        for (int k = n; k <= steps; k++) {
            for (int nc = 0; nc <= depth; nc++) {
                P p = make.apply(k, nc);
                if (Plan.of(p, steps, depth).macs(c, 1, branches) <= budget) return p;
            }
        }
        double best = 0;
        int bestN = 2;
        for (int k = 2; k <= steps; k++) {
            double s = full / (double) Plan.of(make.apply(k, depth), steps, depth).macs(c, 1, branches);
            if (s > best) {
                best = s;
                bestN = k;
            }
        }
        throw new org.deltadit.engine.InvalidParameter("speedup", String.format(java.util.Locale.ROOT,
                "%.2f× is not reachable with N = %d; the best reachable is %.2f× (N = %d, all %d blocks cached)", speedup, n, best, bestN, depth));
    }
}
