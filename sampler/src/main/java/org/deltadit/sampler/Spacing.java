package org.deltadit.sampler;

import java.util.Locale;

/**
 * How T sampling steps are placed among the 1000 training timesteps.
 * <ul>
 * <li>{@code dit} — DiT's space_timesteps with one section: fractional stride (999)/(T − 1), each index
 *     rounded half to even (Python's round); T = 250 gives 0, 4, 8, …, 995, 999.</li>
 * <li>{@code linspace} — diffusers: round(linspace(0, 999, T + 1))[::-1][:-1] for the multistep solvers
 *     (999, 949, …, 50 for T = 20); DDIM uses round(linspace(0, 999, T)); Euler keeps them fractional.</li>
 * <li>{@code leading} — (0, 1, …, T − 1)·(1000 // T), reversed.</li>
 * <li>{@code trailing} — round(arange(1000, 0, −1000/T)) − 1.</li>
 * </ul>
 */
public enum Spacing {
    DIT, LINSPACE, LEADING, TRAILING;

    public static Spacing parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new org.deltadit.engine.InvalidParameter("spacing", "unknown spacing '" + s + "' (dit, linspace, leading, trailing)");
        }
    }

    /** DiT's kept timesteps in increasing order (space_timesteps(1000, "T")). */
    public static int[] ditKept(int steps) {
        int n = NoiseSchedule.TRAIN_STEPS;
        if (steps > n) throw new org.deltadit.engine.InvalidParameter("steps", steps + " exceeds the " + n + " training timesteps");
        double stride = steps <= 1 ? 1 : (n - 1) / (double) (steps - 1);
        int[] kept = new int[steps];
        double cur = 0;
        for (int i = 0; i < steps; i++) {
            kept[i] = (int) Math.rint(cur);
            cur += stride;
        }
        return kept;
    }

    /** Integer timesteps in sampling order (noisiest first) for the multistep solvers and DDIM. */
    public int[] timesteps(int steps, boolean ddimLinspace) {
        int n = NoiseSchedule.TRAIN_STEPS;
        if (steps < 1 || steps > n) throw new org.deltadit.engine.InvalidParameter("steps", steps + " (1.." + n + ")");
        int[] out = new int[steps];
        switch (this) {
            case DIT -> {
                int[] kept = ditKept(steps);
                for (int i = 0; i < steps; i++) out[i] = kept[steps - 1 - i];
            }
            case LINSPACE -> {
                int points = ddimLinspace ? steps : steps + 1;
                for (int i = 0; i < steps; i++) {
                    double v = points == 1 ? 0 : (n - 1) * (double) (points - 1 - i) / (points - 1);
                    out[i] = (int) Math.rint(v);
                }
            }
            case LEADING -> {
                int ratio = n / steps;
                for (int i = 0; i < steps; i++) out[i] = (steps - 1 - i) * ratio;
            }
            case TRAILING -> {
                double ratio = n / (double) steps;
                for (int i = 0; i < steps; i++) out[i] = (int) Math.rint(n - i * ratio) - 1;
            }
        }
        return out;
    }
}
