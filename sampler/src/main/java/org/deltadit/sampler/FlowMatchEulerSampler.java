package org.deltadit.sampler;

/**
 * Flow-matching Euler, as diffusers' FlowMatchEulerDiscreteScheduler configures SD3 (shift 3.0, no dynamic
 * shifting): the 1000 training σ = t/1000 shifted once, σ' = shift·σ / (1 + (shift − 1)·σ), give σ_max = 1
 * and σ_min; the T inference σ are linspace(σ_max·1000, σ_min·1000, T)/1000 shifted again (in double), then
 * float32, and 0 after the last; the model sees t = σ·1000 and predicts the velocity v; x ← x + (σ_next − σ)·v
 * in float32. x_T is unit noise.
 */
public final class FlowMatchEulerSampler extends Sampler {
    private final float[] sigmas, ts;
    private final double shift;

    public FlowMatchEulerSampler(int steps, double shift) {
        super(steps);
        if (!(shift > 0)) throw new org.deltadit.engine.InvalidParameter("shift", shift + " (must be positive)");
        this.shift = shift;
        int n = 1000;
        double max = shifted32(1f), min = shifted32(1f / n);
        sigmas = new float[steps + 1];
        ts = new float[steps];
        double start = max * n, stop = min * n, delta = steps > 1 ? (stop - start) / (steps - 1) : 0;
        for (int i = 0; i < steps; i++) {
            double t = i == steps - 1 && steps > 1 ? stop : i * delta + start; // numpy.linspace: the last value exactly
            double s = t / n;
            sigmas[i] = (float) (shift * s / (1 + (shift - 1) * s));
            ts[i] = sigmas[i] * n;
        }
        sigmas[steps] = 0;
    }

    /** The training-time shift, in float32 as the scheduler's torch tensors compute it. */
    private float shifted32(float s) { return (float) shift * s / (1 + ((float) shift - 1) * s); }

    @Override public String name() { return "flow-euler"; }

    @Override public float[] timesteps() { return ts.clone(); }

    /** σ of step i (σ_T = 1 first, 0 after the last). */
    public float sigma(int i) { return sigmas[i]; }

    @Override
    protected float[] step(int i, float[] x, float[] v, float[] var, FreshNoise fresh) {
        float dt = sigmas[i + 1] - sigmas[i];
        float[] out = new float[x.length];
        for (int k = 0; k < x.length; k++) out[k] = x[k] + dt * v[k];
        return out;
    }
}
