package org.deltadit.sampler;

/**
 * Ancestral DDPM as DiT's IDDPM code samples it (p_sample, model-formats.md §5.2): the posterior
 * mean of the respaced schedule, and for learned-σ models the LEARNED_RANGE variance
 * exp(frac·ln β + (1 − frac)·ln σ̃²), frac = (v + 1)/2, with σ̃² at step 0 replaced by step 1's.
 * Models without σ channels use the fixed small variance σ̃².
 */
public final class DdpmSampler extends Sampler {
    private final DiffusionSteps ds;

    public DdpmSampler(int steps, Spacing spacing) {
        super(steps);
        this.ds = DiffusionSteps.of(schedule, steps, spacing);
    }

    @Override public String name() { return "ddpm"; }

    @Override protected boolean formsX0() { return true; }

    @Override public float[] timesteps() { return asFloats(ds.timesteps()); }

    private double posteriorVariance(int i) {
        double ab = ds.alphaBar()[i], prev = ds.alphaBarPrev()[i], beta = 1 - ab / prev;
        return beta * (1 - prev) / (1 - ab);
    }

    @Override
    protected float[] step(int i, float[] x, float[] eps, float[] var, FreshNoise fresh) {
        double ab = ds.alphaBar()[i], prev = ds.alphaBarPrev()[i];
        double beta = 1 - ab / prev, alpha = 1 - beta;
        double c1 = beta * Math.sqrt(prev) / (1 - ab), c2 = (1 - prev) * Math.sqrt(alpha) / (1 - ab);
        boolean last = i == steps - 1;
        // The last step (t = 0) has zero posterior variance; IDDPM clips its log to the next step's.
        double minLog = Math.log(last && steps > 1 ? posteriorVariance(i - 1) : posteriorVariance(i));
        double maxLog = Math.log(beta);
        float[] z = last ? null : fresh.next(x.length);
        double[] x0 = x0FromEps(x, eps, ab);
        float[] out = new float[x.length];
        for (int k = 0; k < x.length; k++) {
            double mean = c1 * x0[k] + c2 * x[k];
            double logVar = var == null ? minLog : (var[k] + 1) / 2 * maxLog + (1 - (var[k] + 1) / 2) * minLog;
            out[k] = (float) (z == null ? mean : mean + Math.exp(0.5 * logVar) * z[k]);
        }
        return out;
    }
}
