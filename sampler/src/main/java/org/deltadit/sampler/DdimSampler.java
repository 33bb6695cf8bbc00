package org.deltadit.sampler;

/** DDIM: x_prev = √ᾱ_prev·x0 + √(1 − ᾱ_prev − σ²)·ε + σ·z, σ = η·√((1−ᾱ_prev)/(1−ᾱ))·√(1 − ᾱ/ᾱ_prev); η = 0 is deterministic. */
public final class DdimSampler extends Sampler {
    private final DiffusionSteps ds;
    private final double eta;

    public DdimSampler(int steps, Spacing spacing, double eta) {
        super(steps);
        if (eta < 0 || eta > 1) throw new org.deltadit.engine.InvalidParameter("eta", eta + " (0..1)");
        this.ds = DiffusionSteps.of(schedule, steps, spacing);
        this.eta = eta;
    }

    /**
     * As diffusers' DDIMScheduler with a repository's scheduler config (Stable Diffusion 1.x: scaled_linear,
     * leading spacing, steps_offset 1, set_alpha_to_one false — the last step ends at ᾱ_0, not 1).
     */
    public DdimSampler(int steps, Spacing spacing, double eta, NoiseSchedule schedule, int stepsOffset, boolean setAlphaToOne) {
        super(steps, schedule);
        if (eta < 0 || eta > 1) throw new org.deltadit.engine.InvalidParameter("eta", eta + " (0..1)");
        this.ds = DiffusionSteps.of(schedule, steps, spacing, stepsOffset, setAlphaToOne);
        this.eta = eta;
    }

    @Override public String name() { return "ddim"; }

    @Override protected boolean formsX0() { return true; }

    @Override public float[] timesteps() { return asFloats(ds.timesteps()); }

    @Override
    protected float[] step(int i, float[] x, float[] eps, float[] var, FreshNoise fresh) {
        double ab = ds.alphaBar()[i], prev = ds.alphaBarPrev()[i];
        double sigma = eta == 0 ? 0 : eta * Math.sqrt((1 - prev) / (1 - ab)) * Math.sqrt(1 - ab / prev);
        float[] z = sigma == 0 ? null : fresh.next(x.length);
        double dir = Math.sqrt(Math.max(0, 1 - prev - sigma * sigma));
        // x0 and ε as DiT's ddim_sample derives them (ε re-derived from x0, identical without clipping)
        double[] x0 = x0FromEps(x, eps, ab);
        float[] out = new float[x.length];
        for (int k = 0; k < x.length; k++) {
            double e = (Math.sqrt(1 / ab) * x[k] - x0[k]) / Math.sqrt(1 / ab - 1);
            out[k] = (float) (Math.sqrt(prev) * x0[k] + dir * e + (z == null ? 0 : sigma * z[k]));
        }
        return out;
    }
}
