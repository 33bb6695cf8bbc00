package org.deltadit.sampler;

/**
 * DEIS (order 2, log-ρ), as diffusers' DEISMultistepScheduler: it steps on ε; the final σ is
 * σ(t=0); step 0 is first order and the last only when T < 15.
 */
public final class DeisSampler extends Sampler {
    private final SigmaSteps ss;
    private float[] previousEps;

    public DeisSampler(int steps, Spacing spacing) {
        super(steps);
        this.ss = SigmaSteps.of(schedule, steps, spacing, schedule.sigma(0));
    }

    @Override public String name() { return "deis"; }

    @Override protected void reset() { previousEps = null; }

    @Override public float[] timesteps() { return asFloats(ss.timesteps()); }

    /** ∫ of the log-ρ Lagrange basis (diffusers' ind_fn). */
    private static double ind(double t, double b, double c) { return t * (-Math.log(c) + Math.log(t) - 1) / (Math.log(b) - Math.log(c)); }

    @Override
    protected float[] step(int i, float[] x, float[] eps, float[] var, FreshNoise fresh) {
        double s0 = ss.sigmas()[i], st = ss.sigmas()[i + 1];
        double a0 = SigmaSteps.alpha(s0), at = SigmaSteps.alpha(st), vt = SigmaSteps.sigmaVp(st);
        float[] out = new float[x.length];
        boolean firstOrder = previousEps == null || (i == steps - 1 && steps < 15);
        if (firstOrder) {
            double h = SigmaSteps.lambda(st) - SigmaSteps.lambda(s0);
            for (int k = 0; k < x.length; k++) out[k] = (float) (at / a0 * x[k] - vt * Math.expm1(h) * eps[k]);
        } else {
            double rt = st, r0 = s0, r1 = ss.sigmas()[i - 1]; // ρ = σ_VP/α is the Karras σ
            double c1 = ind(rt, r0, r1) - ind(r0, r0, r1), c2 = ind(rt, r1, r0) - ind(r0, r1, r0);
            for (int k = 0; k < x.length; k++) out[k] = (float) (at * (x[k] / a0 + c1 * eps[k] + c2 * previousEps[k]));
        }
        previousEps = eps;
        return out;
    }
}
