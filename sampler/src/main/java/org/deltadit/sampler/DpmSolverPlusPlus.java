package org.deltadit.sampler;

/**
 * DPM-Solver++(2M), data prediction, midpoint, as diffusers' DPMSolverMultistepScheduler runs it:
 * step 0 first order, then second order; by default the last step is first order to σ = 0 (diffusers
 * ≥ 0.26, final_sigmas_type "zero"); {@code legacyFinal} ends at σ_min = σ(t=0) instead (≤ 0.25).
 */
public final class DpmSolverPlusPlus extends Sampler {
    private final SigmaSteps ss;
    private final boolean legacyFinal;
    private float[] previousX0;

    public DpmSolverPlusPlus(int steps, Spacing spacing, boolean legacyFinal) {
        super(steps);
        this.legacyFinal = legacyFinal;
        this.ss = SigmaSteps.of(schedule, steps, spacing, legacyFinal ? schedule.sigma(0) : 0);
    }

    /** With another β schedule (Stable Diffusion 1.x's scaled_linear), final σ 0. */
    public DpmSolverPlusPlus(int steps, Spacing spacing, NoiseSchedule schedule) {
        super(steps, schedule);
        this.legacyFinal = false;
        this.ss = SigmaSteps.of(schedule, steps, spacing, 0);
    }

    @Override public String name() { return "dpm-solver++"; }

    @Override protected boolean formsX0() { return true; }

    @Override protected void reset() { previousX0 = null; }

    @Override public float[] timesteps() { return asFloats(ss.timesteps()); }

    @Override
    protected float[] step(int i, float[] x, float[] eps, float[] var, FreshNoise fresh) {
        double s0 = ss.sigmas()[i], st = ss.sigmas()[i + 1];
        double a0 = SigmaSteps.alpha(s0), v0 = SigmaSteps.sigmaVp(s0);
        double[] raw = new double[x.length];
        for (int k = 0; k < x.length; k++) raw[k] = (x[k] - v0 * eps[k]) / a0;
        limitX0(raw);
        float[] x0 = new float[x.length];
        for (int k = 0; k < x.length; k++) x0[k] = (float) raw[k];
        float[] out = new float[x.length];
        boolean lastFirstOrder = i == steps - 1 && (!legacyFinal || steps < 15);
        if (st == 0) {
            System.arraycopy(x0, 0, out, 0, x.length); // λ_t = ∞: the first-order step lands on x0
        } else {
            double at = SigmaSteps.alpha(st), vt = SigmaSteps.sigmaVp(st);
            double h = SigmaSteps.lambda(st) - SigmaSteps.lambda(s0), phi = Math.expm1(-h);
            if (previousX0 == null || lastFirstOrder) {
                for (int k = 0; k < x.length; k++) out[k] = (float) (vt / v0 * x[k] - at * phi * x0[k]);
            } else {
                double h0 = SigmaSteps.lambda(s0) - SigmaSteps.lambda(ss.sigmas()[i - 1]), r0 = h0 / h;
                for (int k = 0; k < x.length; k++) {
                    double d1 = (x0[k] - previousX0[k]) / r0;
                    out[k] = (float) (vt / v0 * x[k] - at * phi * x0[k] - 0.5 * at * phi * d1);
                }
            }
        }
        previousX0 = x0;
        return out;
    }
}
