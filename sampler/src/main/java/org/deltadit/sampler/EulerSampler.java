package org.deltadit.sampler;

/**
 * Euler (Karras et al. Algorithm 2 without churn), as diffusers' EulerDiscreteScheduler with
 * linspace spacing: fractional timesteps linspace(999, 0, T), σ interpolated at them, then 0; x_T =
 * noise·σ_max; the model sees x/√(σ²+1); x ← x + ε·(σ_next − σ).
 */
public final class EulerSampler extends Sampler {
    private final float[] ts;
    private final double[] sigmas;
    private final boolean leading;

    public EulerSampler(int steps, Spacing spacing) {
        super(steps);
        leading = spacing == Spacing.LEADING;
        ts = new float[steps];
        sigmas = new double[steps + 1];
        if (spacing == Spacing.LINSPACE) {
            for (int i = 0; i < steps; i++) {
                double t = steps == 1 ? 999 : 999.0 * (steps - 1 - i) / (steps - 1);
                ts[i] = (float) t;
                sigmas[i] = schedule.sigmaAt(t);
            }
        } else {
            int[] it = spacing.timesteps(steps, false);
            for (int i = 0; i < steps; i++) {
                ts[i] = it[i];
                sigmas[i] = schedule.sigma(it[i]);
            }
        }
        sigmas[steps] = 0;
    }

    @Override public String name() { return "euler"; }

    @Override public float[] timesteps() { return ts.clone(); }

    /** σ_max, or √(σ_max² + 1) with leading spacing (as diffusers). */
    @Override public double initNoiseSigma() { return leading ? Math.sqrt(sigmas[0] * sigmas[0] + 1) : sigmas[0]; }

    @Override protected double inputScale(int i) { return 1 / Math.sqrt(sigmas[i] * sigmas[i] + 1); }

    @Override
    protected float[] step(int i, float[] x, float[] eps, float[] var, FreshNoise fresh) {
        double dt = sigmas[i + 1] - sigmas[i];
        float[] out = new float[x.length];
        for (int k = 0; k < x.length; k++) out[k] = (float) (x[k] + eps[k] * dt);
        return out;
    }
}
