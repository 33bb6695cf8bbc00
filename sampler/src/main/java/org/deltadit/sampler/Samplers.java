package org.deltadit.sampler;

import java.util.Locale;

/** Creates a sampler by name with the spacing defaults of DESIGN.md §4. */
public final class Samplers {
    private Samplers() {}

    public static final String NAMES = "ddpm, ddim, dpm-solver++, euler, deis, lcm";

    /** Whether {@code name} is DPM-Solver++ under one of its spellings. */
    public static boolean isDpmSolver(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return n.equals("dpm-solver++") || n.equals("dpmsolver++") || n.equals("dpm++");
    }

    /**
     * {@code spacing} null picks the default: DiT's respacing for DDPM and DDIM on DiT models
     * ({@code ditModel}), diffusers' linspace otherwise. {@code legacy} selects the older diffusers
     * behaviour where releases differ: DPM-Solver++'s last step to σ_min, LCM's strided timesteps.
     */
    public static Sampler create(String name, int steps, Spacing spacing, boolean ditModel, double eta, boolean legacy) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        Spacing sp = spacing != null ? spacing : (ditModel && (n.equals("ddpm") || n.equals("ddim")) ? Spacing.DIT : Spacing.LINSPACE);
        return switch (n) {
            case "ddpm" -> new DdpmSampler(steps, sp);
            case "ddim" -> new DdimSampler(steps, sp, eta);
            case "dpm-solver++", "dpmsolver++", "dpm++" -> new DpmSolverPlusPlus(steps, sp, legacy);
            case "euler" -> new EulerSampler(steps, sp);
            case "deis" -> new DeisSampler(steps, sp);
            case "lcm" -> {
                if (spacing != null) throw new org.deltadit.engine.InvalidParameter("spacing", "does not apply to lcm (its timesteps come from the 50-step origin grid)");
                yield new LcmSampler(steps, legacy);
            }
            default -> throw new org.deltadit.engine.InvalidParameter("sampler", "unknown sampler '" + name + "' (" + NAMES + ")");
        };
    }
}
