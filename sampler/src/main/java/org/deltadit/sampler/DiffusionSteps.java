package org.deltadit.sampler;

/**
 * The respaced discrete schedule DDPM and DDIM step through: for each step, the model timestep and
 * ᾱ at it and at the next (less noisy) step; ᾱ after the last step is 1. With {@code dit} spacing
 * the next step's ᾱ is the next kept timestep's (DiT's SpacedDiffusion); with diffusers spacings it is
 * ᾱ at t − 1000//T, as diffusers' DDIM computes it.
 */
record DiffusionSteps(int[] timesteps, double[] alphaBar, double[] alphaBarPrev) {

    static DiffusionSteps of(NoiseSchedule s, int steps, Spacing spacing) { return of(s, steps, spacing, 0, true); }

    /** With diffusers' steps_offset (added to every timestep) and set_alpha_to_one (false: ᾱ after the last step is ᾱ_0). */
    static DiffusionSteps of(NoiseSchedule s, int steps, Spacing spacing, int offset, boolean alphaToOne) {
        int[] ts = spacing.timesteps(steps, true);
        double[] ab = new double[steps], prev = new double[steps];
        double last = alphaToOne ? 1.0 : s.alphaBar(0);
        for (int i = 0; i < steps; i++) {
            ts[i] += offset;
            if (ts[i] >= NoiseSchedule.TRAIN_STEPS) throw new org.deltadit.engine.InvalidParameter("steps", steps + " steps with offset " + offset + " pass timestep 999");
            ab[i] = s.alphaBar(ts[i]);
            if (spacing == Spacing.DIT) {
                prev[i] = i + 1 < steps ? s.alphaBar(ts[i + 1]) : last;
            } else {
                int p = ts[i] - NoiseSchedule.TRAIN_STEPS / steps;
                prev[i] = p >= 0 ? s.alphaBar(p) : last;
            }
        }
        return new DiffusionSteps(ts, ab, prev);
    }

}
