package org.deltadit.sampler;

/**
 * Latent-consistency sampling (PixArt-LCM; model-formats.md §5.1): each step predicts x0, applies the
 * consistency boundary scalings c_skip, c_out at the step's timestep (timestep scaling 10, σ_data 0.5),
 * and, except at the last step, re-noises the prediction to the next timestep with fresh Gaussian noise.
 * Timesteps come from the 50-point origin grid 20·i − 1: current diffusers picks floor(linspace(0, 50, T,
 * endpoint=False)) of it reversed (999, 759, 499, 259 for T = 4); {@code legacy} strides by 50 // T as
 * PixArt's own scheduler and diffusers ≤ 0.23 do (999, 759, 519, 279). Used without guidance.
 */
public final class LcmSampler extends Sampler {
    static final int ORIGIN_STEPS = 50;
    private final int[] timesteps;

    public LcmSampler(int steps, boolean legacy) {
        super(steps);
        if (steps > ORIGIN_STEPS) throw new org.deltadit.engine.InvalidParameter("steps", "LCM takes at most " + ORIGIN_STEPS + " steps, not " + steps);
        int k = NoiseSchedule.TRAIN_STEPS / ORIGIN_STEPS;
        int[] origin = new int[ORIGIN_STEPS]; // reversed: 999, 979, …, 19
        for (int i = 0; i < ORIGIN_STEPS; i++) origin[i] = (ORIGIN_STEPS - i) * k - 1;
        timesteps = new int[steps];
        for (int i = 0; i < steps; i++) {
            timesteps[i] = origin[legacy ? i * (ORIGIN_STEPS / steps) : (int) Math.floor(i * (double) ORIGIN_STEPS / steps)];
        }
    }

    @Override public String name() { return "lcm"; }

    @Override
    public float[] timesteps() { return asFloats(timesteps); }

    @Override
    protected float[] step(int i, float[] x, float[] eps, float[] var, FreshNoise fresh) {
        int t = timesteps[i];
        double ab = schedule.alphaBar(t);
        double scaled = 10.0 * t, sd2 = 0.25;
        double cSkip = sd2 / (scaled * scaled + sd2), cOut = scaled / Math.sqrt(scaled * scaled + sd2);
        boolean last = i == steps - 1;
        double next = last ? 1 : schedule.alphaBar(timesteps[i + 1]);
        float[] z = last ? null : fresh.next(x.length);
        float[] out = new float[x.length];
        for (int k = 0; k < x.length; k++) {
            double x0 = (x[k] - Math.sqrt(1 - ab) * eps[k]) / Math.sqrt(ab);
            double denoised = cOut * x0 + cSkip * x[k];
            out[k] = (float) (last ? denoised : Math.sqrt(next) * denoised + Math.sqrt(1 - next) * z[k]);
        }
        return out;
    }
}
